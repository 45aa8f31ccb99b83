// Recipes build real corpora on the user's machine from Debian/npm packages into the data cache
// ($SEQLAB_DATA/<name>/): train.tsv, valid.tsv, test.tsv and meta.json. A recipe writes into a
// staging directory that only replaces the cached corpus once complete, so nothing half-written
// is ever left in the cache.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/registry.h"
#include "data/parallel_corpus.h"

namespace seqlab {

struct PreparedCorpus {
  std::string directory;
  std::map<std::string, int64_t> counts;  // "train", "valid", "test" and recipe-specific counts
  Json meta;                              // what meta.json holds
};

class Recipe {
 public:
  virtual ~Recipe() = default;
  // Builds the corpus under `out_dir` (default: data_cache_dir()/<name>).
  virtual PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const = 0;
};

SEQLAB_DECLARE_REGISTRY(dataset_registry, std::unique_ptr<Recipe>);

PreparedCorpus prepare_corpus(const std::string& recipe, const std::string& out_dir = "");

// Deterministic split: pairs are ordered by a stable hash of their lowercased source (so the split
// does not depend on input order), the first `test` go to test, the next `valid` to valid.
struct Splits {
  std::vector<SentencePair> train, valid, test;
};
Splits split_by_hash(const std::vector<SentencePair>& pairs, size_t valid, size_t test,
                     uint64_t seed);

// Writes the splits and meta.json into `dir` and returns the counts.
PreparedCorpus write_splits(const std::string& dir, const Splits& splits, Json meta);

// Where a named corpus lives in the cache, and its splits. InputError telling the user to run
// `seqlab data prepare NAME` when it has not been prepared.
std::string corpus_directory(const std::string& name);
std::vector<SentencePair> load_corpus_split(const std::string& corpus, const std::string& split,
                                            BadLines* bad = nullptr);
// The TSV file of a corpus split (InputError when it is missing).
std::string corpus_split_path(const std::string& corpus, const std::string& split);

// ASCII-lowercased copy (for deduplication keys).
std::string lowercase_ascii(std::string text);

}  // namespace seqlab
