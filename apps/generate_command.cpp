// seqlab generate: samples a new piece from a sequence-task run (music events; the sampling is
// eval/generate_music.h's) and writes a standard MIDI file; optionally a WAV through FluidSynth
// with the General MIDI sound font, and a piano-roll PNG. Sampling is reproducible from --seed.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/runtime.h"
#include "data/debian_packages.h"
#include "data/midi.h"
#include "eval/generate_music.h"
#include "eval/piano_roll.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab::apps {
namespace {

constexpr const char* kSoundFont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

// The run's last two path components (a runner cell's directory is <cell>/seed-N).
std::string run_label(const std::string& run) {
  fs::path path = fs::path(run).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.has_parent_path() ? (path.parent_path().filename() / path.filename()).string()
                                : path.string();
}

}  // namespace

void add_generate_command(CLI::App& app, Action& action) {
  auto* generate = app.add_subcommand(
      "generate", "Sample a new piece from a music (sequence-task) run into a MIDI file");
  struct Args {
    std::string run, out, prime, wav, piano_roll, device, precision;
    int64_t length = 512, top_k = 0, seed = 1, program = 0;
    double temperature = 1.0, bpm = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  generate->add_option("--run", args->run, "Run directory (data.task sequence, music events)")
      ->required();
  generate->add_option("--out", args->out, "MIDI file to write")->required();
  generate->add_option("--length", args->length, "Events to sample (default 512)")
      ->check(CLI::Range(1, 1000000));
  generate->add_option("--temperature", args->temperature, "Sampling temperature (default 1)")
      ->check(CLI::Range(1e-3, 100.0));
  generate->add_option("--top-k", args->top_k, "Sample among the K most likely events; 0 = all")
      ->check(CLI::Range(0, 1000000));
  generate->add_option("--seed", args->seed, "Random seed (the same seed gives the same piece)");
  generate->add_option("--prime", args->prime,
                       "A MIDI file whose events start the piece (its notes are kept)");
  generate->add_option("--bpm", args->bpm, "Tempo (default: the prime's first tempo, else 120)")
      ->check(CLI::Range(10.0, 400.0));
  generate
      ->add_option("--program", args->program,
                   "General MIDI program (instrument) 0-127, default 0 (piano)")
      ->check(CLI::Range(0, 127));
  generate->add_option("--wav", args->wav,
                       "Also render audio with FluidSynth and the General MIDI sound font");
  generate->add_option("--piano-roll", args->piano_roll,
                       "Also draw a piano-roll PNG (the first 64 beats)");
  generate->add_option("--device", args->device, "Override the run's device");
  add_precision_option(generate, args->precision);
  generate->add_flag("--json", args->json, "Print one JSON object");
  generate->callback([&action, args] {
    action = [args] {
      LoadedRun run = load_run(args->run, args->device);
      if (!args->precision.empty()) use_precision(run, args->precision);
      configure_threads(static_cast<int>(run.config.get_int("run.threads")));
      if (run.config.get_string("data.task") != "sequence")
        throw InputError(fmt::format(
            "{} is a {} run; generate needs a sequence-task run (e.g. the music recipe)", args->run,
            run.config.get_string("data.task")));
      if (!args->wav.empty() &&
          (!fs::exists(kSoundFont) || run_command("command -v fluidsynth").status != 0))
        throw InputError(fmt::format(
            "--wav needs FluidSynth and the General MIDI sound font ({}): apt-get install "
            "fluidsynth fluid-soundfont-gm",
            kSoundFont));
      MusicGenerationOptions options;
      options.length = args->length;
      options.temperature = args->temperature;
      options.top_k = args->top_k;
      options.seed = static_cast<uint64_t>(args->seed);
      options.prime = args->prime;
      options.bpm = args->bpm;
      options.program = static_cast<int>(args->program);
      const GeneratedMusic music = generate_music(run.model, *run.tokenizer, run.device, options);
      const MidiPiece& piece = music.piece;
      write_midi(args->out, piece);
      Json result = {{"midi", args->out},
                     {"events", music.sampled_events},
                     {"prime_events", music.prime_events},
                     {"notes", piece.notes.size()},
                     {"skipped_words", music.skipped_words},
                     {"beats", music.beats},
                     {"seconds", music.seconds()},
                     {"seed", args->seed}};
      if (!args->piano_roll.empty()) {
        write_piano_roll(
            args->piano_roll, piece,
            fmt::format("{}  (seed {}, temperature {}, top-k {})", run_label(args->run), args->seed,
                        args->temperature, args->top_k));
        result["piano_roll"] = args->piano_roll;
      }
      if (!args->wav.empty()) {
        auto rendered = run_command(fmt::format("fluidsynth -ni -q -g 0.8 -r 44100 -F {} {} {}",
                                                shell_quote(args->wav), shell_quote(kSoundFont),
                                                shell_quote(args->out)));
        if (rendered.status != 0 || !fs::exists(args->wav))
          throw Error(fmt::format("fluidsynth failed (exit {}): {}", rendered.status,
                                  rendered.output.substr(0, 400)));
        result["wav"] = args->wav;
      }
      if (args->json) {
        print_json(result.dump());
      } else {
        std::cout << fmt::format(
            "{}: {} notes, {:.0f} beats ({:.0f} s at {:.0f} bpm) from {} sampled events{}{}\n",
            args->out, piece.notes.size(), music.beats, music.seconds(), music.bpm,
            music.sampled_events,
            args->piano_roll.empty() ? "" : "; piano roll " + args->piano_roll,
            args->wav.empty() ? "" : "; audio " + args->wav);
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
