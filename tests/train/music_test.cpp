// Next-event models end to end on a small generated event corpus: every family trains through the
// one trainer (or the fitter) under an empty source and beats the unigram baseline, seeded sampling
// is reproducible, and `seqlab generate` writes a MIDI file that reads back (with a piano roll).
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "data/debian_packages.h"
#include "data/midi.h"
#include "eval/generate_music.h"
#include "eval/metric.h"
#include "eval/next_token.h"
#include "eval/significance.h"
#include "seqlab_paths.h"
#include "tests/test_support.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using seqlab::Config;
using seqlab::Json;

namespace {

// Arpeggios: a root from a small set, then root, +4, +7, +12 as sixteenths, each note on/off with a
// wait; 120 training lines, 20 valid, 20 test. Deterministic and learnable: after "on P wait1 off
// P" the next pitch follows from the pattern.
std::string write_arpeggio_corpus(const seqlab::testing::TempDir& dir) {
  const std::string root = dir.file("arp");
  fs::create_directories(root);
  auto line = [](int base, int repeats) {
    std::string text;
    for (int r = 0; r < repeats; ++r)
      for (int step : {0, 4, 7, 12}) {
        const int p = base + step;
        text += fmt::format("{}on{} wait1 off{}", text.empty() ? "" : " ", p, p);
      }
    return text;
  };
  for (auto [split, count] :
       std::vector<std::pair<std::string, int>>{{"train", 120}, {"valid", 20}, {"test", 20}}) {
    std::string text;
    for (int i = 0; i < count; ++i) text += line(48 + (i * 5) % 12, 3 + i % 3) + "\n";
    seqlab::testing::write_text(root + "/" + split + ".txt", text);
  }
  return root;
}

Config music_config(const std::string& corpus, const Json& model,
                    const Json& train = Json::object()) {
  Json config = {{"run", {{"seed", 3}, {"threads", 1}}},
                 {"data",
                  {{"task", "sequence"},
                   {"corpus", corpus},
                   {"tokenizer", "word"},
                   {"vocab_size", 0},
                   {"max_length", 200}}},
                 {"model", model},
                 {"train",
                  {{"lr", 0.005},
                   {"batch_tokens", 600},
                   {"max_steps", 150},
                   {"valid_every", 50},
                   {"checkpoint_every", 50},
                   {"log_every", 50},
                   {"patience", 0},
                   {"label_smoothing", 0.0},
                   {"valid_bleu_sentences", 0}}}};
  config["model"]["encoder"] = "none";
  if (!config["model"].contains("transformer")) config["model"]["transformer"] = {{"d_model", 32}};
  if (train.is_object()) seqlab::merge_json(config["train"], train);
  return Config::from_json(config);
}

}  // namespace

TEST_CASE(
    "next-event models: every family learns arpeggios under an empty source, past the count "
    "baselines") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_arpeggio_corpus(dir);
  struct Case {
    std::string name;
    Json model, train;
  };
  const std::vector<Case> cases = {
      {"gru",
       {{"decoder", "rnn"},
        {"cell", "gru"},
        {"embedding_dim", 16},
        {"hidden_dim", 48},
        {"feed_summary", false}},
       {}},
      {"lstm",
       {{"decoder", "rnn"},
        {"cell", "lstm"},
        {"embedding_dim", 16},
        {"hidden_dim", 48},
        {"feed_summary", false}},
       {}},
      {"transformer",
       {{"decoder", "transformer"},
        {"transformer",
         {{"d_model", 32},
          {"heads", 2},
          {"ffn_dim", 64},
          {"decoder_layers", 2},
          {"decoder_only", true},
          {"positional", "relative"}}}},
       {{"lr", 0.003}}},
      {"echo-state network (ridge)",
       {{"decoder", "reservoir"},
        {"reservoir",
         {{"units", 300}, {"connectivity", 0.05}, {"leak", 0.5}, {"summary_scaling", 0.0}}}},
       {{"method", "ridge"}}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const std::string run_dir = dir.file("run");
      seqlab::train_model(music_config(corpus, c.model, c.train), run_dir, false);
      seqlab::EvaluateOptions options;
      Json scored = seqlab::evaluate_run(run_dir, options);
      INFO(scored.dump());
      CHECK(scored["perplexity"].get<double>() < scored["unigram_perplexity"].get<double>() / 2);
      CHECK(scored["perplexity"].get<double>() < scored["bigram_perplexity"].get<double>());
      CHECK(scored["accuracy"].get<double>() > 60.0);
      // Per-sequence statistics beside it: their sums give the same perplexity and accuracy, so
      // a bootstrap over test sequences needs no model.
      const auto items = seqlab::read_item_statistics(scored["item_statistics"].get<std::string>());
      REQUIRE(items.metrics.count("perplexity") == 1);
      CHECK(items.items > 1);
      CHECK(seqlab::metric_registry()
                .create("perplexity")
                ->score_from_statistics(seqlab::sum_statistics(items.metrics.at("perplexity"))) ==
            Approx(scored["perplexity"].get<double>()).epsilon(1e-9));
      CHECK(seqlab::metric_registry()
                .create("accuracy")
                ->score_from_statistics(seqlab::sum_statistics(items.metrics.at("accuracy"))) ==
            Approx(scored["accuracy"].get<double>()).epsilon(1e-9));
    }
  }
}

TEST_CASE(
    "sampling: the same seed gives the same events, another seed others, temperature and top-k are "
    "checked") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_arpeggio_corpus(dir);
  const std::string run_dir = dir.file("run");
  seqlab::train_model(music_config(corpus,
                                   {{"decoder", "rnn"},
                                    {"cell", "gru"},
                                    {"embedding_dim", 8},
                                    {"hidden_dim", 16},
                                    {"feed_summary", false}},
                                   {{"max_steps", 20}}),
                      run_dir, false);
  auto run = seqlab::load_run(run_dir);
  seqlab::SampleOptions options;
  options.length = 40;
  options.seed = 11;
  auto a = seqlab::sample_tokens(run.model, {}, run.device, options);
  auto b = seqlab::sample_tokens(run.model, {}, run.device, options);
  CHECK(a == b);
  CHECK(a.size() == 40);
  for (int64_t t : a) CHECK(t >= seqlab::Tokenizer::kNumSpecial);
  options.seed = 12;
  CHECK(seqlab::sample_tokens(run.model, {}, run.device, options) != a);
  options.top_k = 1;  // greedy: no randomness left
  auto greedy = seqlab::sample_tokens(run.model, {a[0], a[1]}, run.device, options);
  options.seed = 99;
  CHECK(seqlab::sample_tokens(run.model, {a[0], a[1]}, run.device, options) == greedy);
  options.temperature = 0;
  CHECK_THROWS_AS(seqlab::sample_tokens(run.model, {}, run.device, options), seqlab::InputError);
}

TEST_CASE(
    "seqlab generate writes a MIDI file that reads back, with a piano roll, and refuses a bad "
    "prime") {
  seqlab::testing::TempDir dir;
  const std::string corpus = write_arpeggio_corpus(dir);
  const std::string run_dir = dir.file("run");
  seqlab::train_model(music_config(corpus, {{"decoder", "rnn"},
                                            {"cell", "gru"},
                                            {"embedding_dim", 16},
                                            {"hidden_dim", 48},
                                            {"feed_summary", false}}),
                      run_dir, false);
  const std::string seqlab_bin = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab ";
  auto generated =
      seqlab::run_command(seqlab_bin + "generate --run " + run_dir + " --out " + dir.file("a.mid") +
                          " --length 96 --seed 5 --piano-roll " + dir.file("a.png") + " --json");
  INFO(generated.output);
  REQUIRE(generated.status == 0);
  auto piece = seqlab::read_midi(dir.file("a.mid"));
  CHECK(piece.notes.size() >= 10);
  CHECK(fs::file_size(dir.file("a.png")) > 1000);
  // The library's generate_music gives the command's piece.
  {
    auto run = seqlab::load_run(run_dir);
    seqlab::MusicGenerationOptions options;
    options.length = 96;
    options.seed = 5;
    auto music = seqlab::generate_music(run.model, *run.tokenizer, run.device, options);
    CHECK(music.sampled_events == 96);
    CHECK(music.beats > 0);
    seqlab::write_midi(dir.file("library.mid"), music.piece);
    CHECK(seqlab::read_midi(dir.file("library.mid")).notes == piece.notes);
  }
  // Same seed, same file; a prime (the piece itself) is continued.
  seqlab::run_command(seqlab_bin + "generate --run " + run_dir + " --out " + dir.file("b.mid") +
                      " --length 96 --seed 5");
  CHECK(seqlab::read_midi(dir.file("b.mid")).notes == piece.notes);
  auto primed =
      seqlab::run_command(seqlab_bin + "generate --run " + run_dir + " --out " + dir.file("c.mid") +
                          " --length 16 --prime " + dir.file("a.mid"));
  REQUIRE(primed.status == 0);
  CHECK(seqlab::read_midi(dir.file("c.mid")).notes.size() > piece.notes.size());
  seqlab::testing::write_text(dir.file("bad.mid"), "MThd nonsense");
  auto bad = seqlab::run_command(seqlab_bin + "generate --run " + run_dir + " --out " +
                                 dir.file("d.mid") + " --prime " + dir.file("bad.mid"));
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Catch::Contains("bad.mid"));
}
