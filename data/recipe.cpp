#include "data/recipe.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/random.h"

namespace fs = std::filesystem;

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(dataset_registry, "datasets");

PreparedCorpus prepare_corpus(const std::string& recipe, const std::string& out_dir) {
  auto maker = dataset_registry().create(recipe);
  std::string dir = out_dir.empty() ? (fs::path(data_cache_dir()) / recipe).string() : out_dir;
  return maker->prepare(recipe, dir);
}

std::string lowercase_ascii(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

Splits split_by_hash(const std::vector<SentencePair>& pairs, size_t valid, size_t test,
                     uint64_t seed) {
  std::vector<std::pair<uint64_t, size_t>> order;
  order.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    order.emplace_back(stable_hash(lowercase_ascii(pairs[i].source), seed), i);
  std::sort(order.begin(), order.end());
  Splits splits;
  for (size_t k = 0; k < order.size(); ++k) {
    const SentencePair& pair = pairs[order[k].second];
    if (k < test)
      splits.test.push_back(pair);
    else if (k < test + valid)
      splits.valid.push_back(pair);
    else
      splits.train.push_back(pair);
  }
  return splits;
}

PreparedCorpus write_splits(const std::string& dir, const Splits& splits, Json meta) {
  PreparedCorpus corpus;
  corpus.directory = dir;
  write_tsv((fs::path(dir) / "train.tsv").string(), splits.train);
  write_tsv((fs::path(dir) / "valid.tsv").string(), splits.valid);
  write_tsv((fs::path(dir) / "test.tsv").string(), splits.test);
  corpus.counts["train"] = static_cast<int64_t>(splits.train.size());
  corpus.counts["valid"] = static_cast<int64_t>(splits.valid.size());
  corpus.counts["test"] = static_cast<int64_t>(splits.test.size());
  meta["counts"] = corpus.counts;
  corpus.meta = meta;
  write_file_atomic((fs::path(dir) / "meta.json").string(), meta.dump(2) + "\n");
  return corpus;
}

std::string corpus_directory(const std::string& name) {
  if (fs::is_directory(name)) return name;
  std::string cached = (fs::path(data_cache_dir()) / name).string();
  if (fs::exists(fs::path(cached) / "meta.json")) return cached;
  if (dataset_registry().contains(name))
    throw InputError(
        fmt::format("corpus '{}' is not prepared in {}; run `seqlab data prepare {}` first", name,
                    data_cache_dir(), name));
  throw InputError(fmt::format(
      "corpus '{}' is neither a directory with train/valid/test.tsv nor a recipe; recipes: {}",
      name, join_names(dataset_registry().names())));
}

std::string corpus_split_path(const std::string& corpus, const std::string& split) {
  fs::path path = fs::path(corpus_directory(corpus)) / (split + ".tsv");
  if (!fs::exists(path))
    throw InputError(
        fmt::format("corpus '{}' has no {} split ({} is missing)", corpus, split, path.string()));
  return path.string();
}

std::vector<SentencePair> load_corpus_split(const std::string& corpus, const std::string& split,
                                            BadLines* bad) {
  return read_tsv(corpus_split_path(corpus, split), bad);
}

}  // namespace seqlab
