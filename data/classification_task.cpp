// The classification task: sentence<TAB>label lines, one label per sentence (many-to-one). The
// tokenizer sees the sentences only; the label set is what the training split holds, sorted; a
// valid or test line whose label the training split never had is an error naming file and line.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "data/recipe.h"
#include "data/task.h"

namespace seqlab {
namespace {

class ClassificationTask : public Task {
 public:
  explicit ClassificationTask(const Config& config)
      : corpus_(config.get_string("data.corpus")), max_length_(config.get_int("data.max_length")) {}
  std::string name() const override { return "classification"; }
  bool has_labels() const override { return true; }

  std::vector<SentencePair> read_split(const std::string& split) const override {
    auto pairs = load_corpus_split(corpus_, split);
    if (labels_.empty()) return pairs;
    std::set<std::string> known(labels_.begin(), labels_.end());
    for (size_t i = 0; i < pairs.size(); ++i)
      if (!known.count(pairs[i].target))
        throw InputError(fmt::format("{}/{}.tsv:{}: unknown label '{}' (this run's labels: {})",
                                     corpus_directory(corpus_), split, i + 1, pairs[i].target,
                                     join_names(labels_)));
    return pairs;
  }

  std::vector<std::string> find_labels(const std::vector<SentencePair>& train) const override {
    std::set<std::string> labels;
    for (const auto& pair : train) labels.insert(pair.target);
    if (labels.size() < 2)
      throw InputError(
          fmt::format("corpus '{}': a classification task needs at least 2 labels in its "
                      "training split, found {}",
                      corpus_, labels.size()));
    return {labels.begin(), labels.end()};
  }

  std::vector<std::string> tokenizer_texts(const std::vector<SentencePair>& pairs) const override {
    return pair_sides(pairs, /*source=*/true);  // the sentences; labels are not words
  }

  TaskSplit encode(const std::vector<SentencePair>& pairs, const Tokenizer& tokenizer,
                   bool training) const override {
    if (labels_.empty()) throw Error("classification task: encode() before set_labels()");
    TaskSplit split;
    split.framing = Framing::kLabel;
    const auto limit = static_cast<size_t>(max_length_);
    for (const auto& pair : pairs) {
      auto at = std::find(labels_.begin(), labels_.end(), pair.target);
      if (at == labels_.end())
        throw InputError(fmt::format("unknown label '{}' (this run's labels: {})", pair.target,
                                     join_names(labels_)));
      Example example{tokenizer.encode(pair.source),
                      {Tokenizer::kNumSpecial + (at - labels_.begin())}};
      // Long sentences are cut, not dropped: the label still holds for the beginning.
      if (training && example.source.size() > limit) example.source.resize(limit);
      if (training && example.source.empty()) continue;
      split.examples.push_back(std::move(example));
      split.pairs.push_back(pair);
    }
    return split;
  }

 private:
  std::string corpus_;
  int64_t max_length_;
};

const bool registered = task_registry().add(
    "classification",
    [](const Config& c) -> std::unique_ptr<Task> {
      return std::make_unique<ClassificationTask>(c);
    },
    "labelled sentences (TSV sentence<TAB>label): one label per sentence, accuracy and macro-F1");

}  // namespace
}  // namespace seqlab
