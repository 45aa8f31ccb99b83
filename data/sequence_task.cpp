// The sequence task: next-token generation with no source (music events, or any text one sequence
// per line). `<corpus>/<split>.txt` holds one sequence per line, words separated by spaces; the
// decoder models the line (bos w1 .. wn eos) under an empty source (model.encoder none). Training
// lines longer than data.max_length are cut into windows of that length rather than dropped.
// data.transpose N adds copies of every training sequence shifted by -N..N semitones (music
// events, data/music.h; a copy that would leave the MIDI range is skipped).
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/music.h"
#include "data/recipe.h"
#include "data/task.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

const bool declared = ConfigSchema::global().add(
    key_int("data.transpose", 0,
            "sequence task (music): training copies transposed by -N..N semitones; 0 = none")
        .range(0, 24));

class SequenceTask : public Task {
 public:
  explicit SequenceTask(const Config& config)
      : corpus_(config.get_string("data.corpus")),
        max_length_(config.get_int("data.max_length")),
        transpose_(static_cast<int>(config.get_int("data.transpose"))) {}
  std::string name() const override { return "sequence"; }

  std::vector<SentencePair> read_split(const std::string& split) const override {
    const fs::path path = fs::path(corpus_directory(corpus_)) / (split + ".txt");
    if (!fs::exists(path))
      throw InputError(
          fmt::format("corpus '{}' has no {} split ({} is missing; a sequence corpus has one "
                      "sequence per line in <split>.txt)",
                      corpus_, split, path.string()));
    std::vector<SentencePair> pairs;
    auto lines = read_lines(path.string());
    for (size_t i = 0; i < lines.size(); ++i) {
      require_utf8(lines[i], fmt::format("{}:{}", path.string(), i + 1));
      if (lines[i].find('\t') != std::string::npos)
        throw InputError(
            fmt::format("{}:{}: a tab (a sequence corpus has one sequence per line, words "
                        "separated by spaces)",
                        path.string(), i + 1));
      if (lines[i].find_first_not_of(" \r") == std::string::npos) continue;
      pairs.push_back({"", lines[i]});
      if (split != "train" || transpose_ == 0) continue;
      std::vector<std::string> words, shifted;
      for (size_t at = 0; at < lines[i].size();) {
        size_t space = lines[i].find(' ', at);
        if (space == std::string::npos) space = lines[i].size();
        if (space > at) words.push_back(lines[i].substr(at, space - at));
        at = space + 1;
      }
      for (int k = -transpose_; k <= transpose_; ++k) {
        if (k == 0 || !transpose_events(words, k, shifted)) continue;
        pairs.push_back({"", fmt::format("{}", fmt::join(shifted, " "))});
      }
    }
    if (pairs.empty()) throw InputError(path.string() + ": no sequence in it");
    return pairs;
  }

  std::vector<std::string> tokenizer_texts(const std::vector<SentencePair>& pairs) const override {
    return pair_sides(pairs, /*source=*/false);
  }

  TaskSplit encode(const std::vector<SentencePair>& pairs, const Tokenizer& tokenizer,
                   bool training) const override {
    TaskSplit split;
    const auto window = static_cast<size_t>(max_length_);
    for (const auto& pair : pairs) {
      auto ids = tokenizer.encode(pair.target);
      if (!training || ids.size() <= window) {
        split.examples.push_back({{}, std::move(ids)});
        split.pairs.push_back(pair);
        continue;
      }
      for (size_t start = 0; start < ids.size(); start += window) {
        split.examples.push_back(
            {{},
             {ids.begin() + std::ptrdiff_t(start),
              ids.begin() + std::ptrdiff_t(std::min(ids.size(), start + window))}});
        split.pairs.push_back(pair);
      }
    }
    return split;
  }

 private:
  std::string corpus_;
  int64_t max_length_;
  int transpose_;
};

const bool registered = task_registry().add(
    "sequence",
    [](const Config& c) -> std::unique_ptr<Task> { return std::make_unique<SequenceTask>(c); },
    "one sequence per line (<split>.txt), no source: next-token generation (music events)");

}  // namespace
}  // namespace seqlab
