// Synthetic sequence tasks as corpora, so that an experiment spec can name them like any recipe
// (`data.corpus = "copy"`). Tokens are space-separated symbols (use data.tokenizer = word); the
// corpus is drawn from a fixed seed, so every machine builds the same files.
//
//   copy, reverse    sources of 1-20 symbols from a 20-letter alphabet; the target is the source
//                    (reversed). valid has the training lengths; test has 1-40, so scores by
//                    source length show what happens beyond the training length.
//   copy-suffix      sources of 1-20 symbols (test 1-40); the target is the last 5 (all of a
//                    shorter source): every output depends on the symbols just before it, at
//                    offsets that do not grow with the source, as a language model's next word
//                    depends mostly on the last few (the setting of Press et al. 2022). Beyond
//                    the training length only the positions are new, not the offsets.
//   reverse-40,      the same with 1-40 (1-60) symbols in every split: long sequences seen in
//   copy-60          training, so a fixed-size summary of the source is the bottleneck the
//                    attention ablations measure, not the lengths never seen.
//   long-dependency  a class marker (one of 4) followed by 49 distractors; the target is the
//                    marker: the encoder must carry its first input over 50 steps (Bengio et al.
//                    1994; Hochreiter and Schmidhuber 1997).
#include <fmt/format.h>

#include "core/files.h"
#include "core/random.h"
#include "data/recipe.h"

namespace seqlab {
namespace {

constexpr size_t kTrain = 10000, kValid = 500, kTest = 1000;

std::string symbols(Rng& rng, size_t length, const std::vector<std::string>& alphabet) {
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    if (i) out += ' ';
    out += alphabet[rng.below(alphabet.size())];
  }
  return out;
}

std::string reversed(const std::string& sentence) {
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t i = 0; i <= sentence.size(); ++i)
    if (i == sentence.size() || sentence[i] == ' ') {
      words.push_back(sentence.substr(start, i - start));
      start = i + 1;
    }
  std::string out;
  for (size_t i = words.size(); i-- > 0;) out += words[i] + (i ? " " : "");
  return out;
}

// The last `count` space-separated words of `sentence` (all of a shorter one).
std::string last_words(const std::string& sentence, size_t count) {
  size_t start = sentence.size();
  for (size_t seen = 0; start > 0; --start)
    if (sentence[start - 1] == ' ' && ++seen == count) break;
  return sentence.substr(start);
}

class SequenceRecipe : public Recipe {
 public:
  // Training and validation sources of 1..train_max symbols, test sources of 1..test_max, drawn
  // from `seed`; with `suffix` > 0 the target keeps only the source's last `suffix` symbols.
  SequenceRecipe(bool reverse, size_t train_max, size_t test_max, uint64_t seed, size_t suffix = 0)
      : reverse_(reverse),
        train_max_(train_max),
        test_max_(test_max),
        seed_(seed),
        suffix_(suffix) {}
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    std::vector<std::string> alphabet;
    for (char c = 'a'; c < 'a' + 20; ++c) alphabet.emplace_back(1, c);
    Rng rng(seed_);
    auto draw = [&](size_t count, size_t max_length) {
      std::vector<SentencePair> pairs;
      for (size_t i = 0; i < count; ++i) {
        std::string source = symbols(rng, 1 + rng.below(max_length), alphabet);
        std::string target = reverse_ ? reversed(source) : source;
        if (suffix_ > 0) target = last_words(target, suffix_);
        pairs.push_back({source, target});
      }
      return pairs;
    };
    Splits splits;
    splits.train = draw(kTrain, train_max_);
    splits.valid = draw(kValid, train_max_);
    splits.test = draw(kTest, test_max_);
    StagingDirectory staging(out_dir);
    PreparedCorpus corpus = write_splits(staging.path(), splits,
                                         {{"recipe", name},
                                          {"task", task()},
                                          {"train_lengths", fmt::format("1-{}", train_max_)},
                                          {"test_lengths", fmt::format("1-{}", test_max_)},
                                          {"alphabet", alphabet.size()}});
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }

 private:
  std::string task() const {
    const std::string base = reverse_ ? "reverse" : "copy";
    return suffix_ > 0 ? fmt::format("{} the last {}", base, suffix_) : base;
  }

  bool reverse_;
  size_t train_max_, test_max_;
  uint64_t seed_;
  size_t suffix_;
};

class LongDependencyRecipe : public Recipe {
 public:
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    const std::vector<std::string> markers = {"A", "B", "C", "D"};
    std::vector<std::string> distractors;
    for (char c = 'a'; c < 'a' + 8; ++c) distractors.emplace_back(1, c);
    Rng rng(3);
    auto draw = [&](size_t count) {
      std::vector<SentencePair> pairs;
      for (size_t i = 0; i < count; ++i) {
        const std::string& marker = markers[rng.below(markers.size())];
        pairs.push_back({marker + " " + symbols(rng, 49, distractors), marker});
      }
      return pairs;
    };
    Splits splits;
    splits.train = draw(kTrain);
    splits.valid = draw(kValid);
    splits.test = draw(kTest);
    StagingDirectory staging(out_dir);
    PreparedCorpus corpus = write_splits(staging.path(), splits,
                                         {{"recipe", name},
                                          {"task", "long-dependency"},
                                          {"length", 50},
                                          {"classes", markers.size()}});
    staging.commit();
    corpus.directory = out_dir;
    return corpus;
  }
};

const bool registered =
    dataset_registry().add(
        "copy", [] { return std::unique_ptr<Recipe>(new SequenceRecipe(false, 20, 40, 1)); },
        "synthetic: copy 1-20 symbols (test 1-40, for length generalisation)") &&
    dataset_registry().add(
        "copy-suffix",
        [] { return std::unique_ptr<Recipe>(new SequenceRecipe(false, 20, 40, 5, 5)); },
        "synthetic: copy the last 5 of 1-20 symbols (test 1-40; offsets that do not grow)") &&
    dataset_registry().add(
        "reverse", [] { return std::unique_ptr<Recipe>(new SequenceRecipe(true, 20, 40, 2)); },
        "synthetic: reverse 1-20 symbols (test 1-40)") &&
    dataset_registry().add(
        "reverse-40", [] { return std::unique_ptr<Recipe>(new SequenceRecipe(true, 40, 40, 402)); },
        "synthetic: reverse 1-40 symbols in every split (attention as sources grow)") &&
    dataset_registry().add(
        "copy-60", [] { return std::unique_ptr<Recipe>(new SequenceRecipe(false, 60, 60, 601)); },
        "synthetic: copy 1-60 symbols in every split (attention as sources grow)") &&
    dataset_registry().add(
        "long-dependency", [] { return std::unique_ptr<Recipe>(new LongDependencyRecipe()); },
        "synthetic: name the first of 50 symbols (a 50-step dependency)");

}  // namespace
}  // namespace seqlab
