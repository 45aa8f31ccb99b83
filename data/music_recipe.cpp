// The music recipe: the standard MIDI files of Debian's game-music packages, as event sequences
// (data/music.h) for next-event models.
//   planetblupi-music-midi  Planet Blupi's 10 pieces
//   openttd-openmsx         OpenTTD's OpenMSX base music set, 31 pieces
//   freedoom                Freedoom's 67 pieces, MIDI lumps (D_*) inside its two WAD files
//                           (music-large only: it more than doubles the corpus)
// Every
// channel but General MIDI percussion (channel 10) with at least 16 notes is one sequence; a
// sequence is written as lines of at most 256 events (`<split>.txt`, one line each), so a model
// sees whole phrases and the splits stay by piece: whole pieces go to test and valid (4 each,
// chosen by a hash of the file name), so no test phrase comes from a piece seen in training. Files
// that do not parse are skipped and listed in meta.json with the reason.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/random.h"
#include "data/debian_packages.h"
#include "data/midi.h"
#include "data/music.h"
#include "data/recipe.h"
#include "data/wad.h"

namespace fs = std::filesystem;

namespace seqlab {

namespace {

constexpr size_t kLineEvents = 256, kMinLineEvents = 32, kMinNotes = 16, kHeldOutPieces = 4;

class MusicRecipe : public Recipe {
 public:
  explicit MusicRecipe(std::vector<std::string> packages) : packages_(std::move(packages)) {}
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    const std::vector<std::string>& packages = packages_;
    auto debs = download_debs(packages, (fs::path(data_cache_dir()) / "packages").string());
    StagingDirectory staging(out_dir);
    const fs::path root = fs::path(staging.path()) / "unpacked";
    for (const auto& deb : debs) unpack_deb(deb, root.string());
    std::vector<fs::path> wads;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      auto ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      // A package's symbolic link may point anywhere: only files that stay inside it are read.
      if (entry.is_regular_file() && lies_inside(entry.path().string(), root.string()) &&
          ext == ".wad")
        wads.push_back(entry.path());
    }
    for (const auto& wad : wads) extract_wad_music(wad.string(), (root / "wad-music").string());
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      auto ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (entry.is_regular_file() && lies_inside(entry.path().string(), root.string()) &&
          (ext == ".mid" || ext == ".midi"))
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return stable_hash(a.filename().string(), 31) < stable_hash(b.filename().string(), 31);
    });
    if (files.size() < 2 * kHeldOutPieces + 1)
      throw Error(fmt::format("music: only {} MIDI files found", files.size()));
    const MusicOptions options;
    std::map<std::string, std::string> text;
    std::map<std::string, Json> pieces;
    Json skipped = Json::array();
    int64_t notes = 0, events = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string split = i < kHeldOutPieces       ? "test"
                                : i < 2 * kHeldOutPieces ? "valid"
                                                         : "train";
      MidiPiece piece;
      try {
        piece = read_midi(files[i].string());
      } catch (const InputError& e) {
        skipped.push_back({{"file", files[i].filename().string()}, {"reason", e.what()}});
        continue;
      }
      pieces[split].push_back(files[i].filename().string());
      std::map<int, std::vector<MidiNote>> by_channel;
      for (const auto& note : piece.notes)
        if (note.channel != 9) by_channel[note.channel].push_back(note);
      for (const auto& [channel, channel_notes] : by_channel) {
        if (channel_notes.size() < kMinNotes) continue;
        notes += int64_t(channel_notes.size());
        auto sequence = notes_to_events(channel_notes, piece.ppqn, options);
        for (size_t start = 0; start < sequence.size(); start += kLineEvents) {
          const size_t end = std::min(sequence.size(), start + kLineEvents);
          if (end - start < kMinLineEvents) break;
          text[split] +=
              fmt::format("{}\n", fmt::join(sequence.begin() + std::ptrdiff_t(start),
                                            sequence.begin() + std::ptrdiff_t(end), " "));
          events += int64_t(end - start);
        }
      }
    }
    fs::remove_all(root);
    PreparedCorpus corpus;
    for (const char* split : {"train", "valid", "test"}) {
      if (text[split].empty()) throw Error(fmt::format("music: the {} split is empty", split));
      write_file_atomic((fs::path(staging.path()) / (std::string(split) + ".txt")).string(),
                        text[split]);
      corpus.counts[split] = std::count(text[split].begin(), text[split].end(), '\n');
    }
    corpus.counts["notes"] = notes;
    corpus.counts["events"] = events;
    corpus.counts["skipped_files"] = int64_t(skipped.size());
    corpus.meta = {
        {"recipe", name},
        {"task", "sequence"},
        {"packages", packages},
        {"counts", corpus.counts},
        {"pieces", pieces},
        {"skipped", skipped},
        {"representation",
         fmt::format(
             "note on/off and time shift on a grid of {} steps per beat, waits up to {} steps "
             "(data/music.h); lines of at most {} events",
             options.steps_per_beat, options.max_wait, kLineEvents)},
        {"credit",
         "Planet Blupi music (GPL-3+), OpenMSX (GPL-2) and, in music-large, Freedoom (BSD-style "
         "Freedoom license), as packaged by Debian"}};
    if (!skipped.empty())
      log_warning(fmt::format("music: skipped {} unreadable MIDI file(s)", skipped.size()));
    write_file_atomic((fs::path(staging.path()) / "meta.json").string(),
                      corpus.meta.dump(2) + "\n");
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }

 private:
  std::vector<std::string> packages_;
};

const bool registered =
    dataset_registry().add(
        "music",
        [] {
          return std::unique_ptr<Recipe>(
              new MusicRecipe({"planetblupi-music-midi", "openttd-openmsx"}));
        },
        "sequence: the MIDI music of planetblupi-music-midi and openttd-openmsx (41 pieces) as "
        "note on/off/wait events, "
        "split by piece") &&
    dataset_registry().add(
        "music-large",
        [] {
          return std::unique_ptr<Recipe>(
              new MusicRecipe({"planetblupi-music-midi", "openttd-openmsx", "freedoom"}));
        },
        "sequence: the music corpus plus Freedoom's 67 MIDI lumps from its WAD files (108 pieces)");

}  // namespace
}  // namespace seqlab
