// Tokenized corpora on disk (data.streaming): a training split is tokenized once, in parallel and
// in pieces, into shard files (data/shard_file.h) that are memory-mapped, so the trainer reads a
// batch at a time and a corpus larger than memory trains in memory bounded by the batches in
// flight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/random.h"
#include "data/batch.h"
#include "data/parallel_corpus.h"
#include "data/shard_file.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// Writes `examples` (their image fields are not kept) as a shard file, atomically.
void write_shard(const std::string& path, const std::vector<Example>& examples,
                 const std::string& tokenizer_digest, int64_t vocab, const Json& input);

// A split as a sequence of shards: example i of the set is the i-th over all shards in order.
class ShardSet {
 public:
  explicit ShardSet(std::vector<std::unique_ptr<Shard>> shards);
  int64_t size() const { return total_; }
  Example example(int64_t i) const;
  // Per example max(source, target + 1): what TokenBucketBatcher buckets by.
  std::vector<int64_t> bucket_lengths() const;
  int64_t target_tokens(const std::vector<int64_t>& indices, Framing framing) const;
  Batch collate(const std::vector<int64_t>& indices, Framing framing) const;
  // SHA-256 over the shards' headers: what a checkpoint records of the data it was trained on.
  std::string fingerprint() const;
  const std::vector<std::unique_ptr<Shard>>& shards() const { return shards_; }

 private:
  std::pair<const Shard*, int64_t> locate(int64_t i) const;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<int64_t> starts_;  // first example of each shard
  int64_t total_ = 0;
};

struct ShardBuildOptions {
  int64_t pairs_per_shard = 100000;  // lines of input per shard file (data.shard_lines)
  int threads = 1;                   // tokenizing threads
  int64_t max_length = 100;          // pairs with more tokens on a side (or no source) are dropped
  int64_t limit = 0;                 // read only the first N pairs (data.train_limit); 0 = all
  BadLines* bad = nullptr;           // skip and count bad lines instead of failing
};

// Tokenizes the TSV file `tsv_path` into `dir`/train-NNNNN.shard, one file per
// options.pairs_per_shard input lines, each written atomically. A shard already there with the
// same header (tokenizer, input file size and line range, filters) is kept, so a build stopped
// midway (kill -9 included) goes on where it stopped. Keeps the examples the in-memory path
// (Task::encode) keeps, in the same order.
ShardSet build_text_shards(const std::string& tsv_path, const Tokenizer& tokenizer,
                           const std::string& tokenizer_digest, const std::string& dir,
                           const ShardBuildOptions& options);

// A uniform sample of at most `capacity` texts from a stream (reservoir sampling, algorithm R,
// seeded): all of them, in order, when the stream has no more than `capacity`.
class TextSample {
 public:
  TextSample(int64_t capacity, uint64_t seed);
  void add(std::string text);
  std::vector<std::string> take() { return std::move(texts_); }
  int64_t seen() const { return seen_; }

 private:
  int64_t capacity_;
  Rng rng_;
  int64_t seen_ = 0;
  std::vector<std::string> texts_;
};

}  // namespace seqlab
