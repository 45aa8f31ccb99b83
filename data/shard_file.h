// Shard files: tokenized corpora on disk (data.streaming): a training split is tokenized once, in
// parallel and in pieces, into binary shard files that are memory-mapped, so the trainer reads a
// batch at a time and a corpus larger than memory trains in memory bounded by the batches in
// flight.
//
// A shard file, little-endian:
//   "SEQSHRD1" | u64 header bytes | header JSON | zero padding to a multiple of 8
//   u64 source_offsets[N + 1] | u64 target_offsets[N + 1] | i32 source_ids[S] | i32 target_ids[T]
// The header names what the shard was made with: {"format": "seqlab-shard", "version": 1,
// "tokenizer": SHA-256 of the tokenizer file, "vocab", "examples": N, "source_ids": S,
// "target_ids": T, "input": what was read (file, size, line range, filters, a hash of the pairs)}.
// A shard made with another tokenizer is refused; every offset and id is checked when a shard is
// opened, so a crafted file is an InputError, never a read out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqlab {

// Writes a shard file atomically: example i's source ids are
// source_ids[source_offsets[i] .. source_offsets[i + 1]), its target ids likewise.
void write_shard_file(const std::string& path, const std::vector<uint64_t>& source_offsets,
                      const std::vector<uint64_t>& target_offsets,
                      const std::vector<int32_t>& source_ids,
                      const std::vector<int32_t>& target_ids, const std::string& tokenizer_digest,
                      int64_t vocab, const nlohmann::json& input);

// One memory-mapped shard file.
class Shard {
 public:
  // Opens and checks `path`. InputError naming the file when it is not a shard, is truncated or
  // inconsistent, holds an id outside [0, vocab), or was made with another tokenizer than
  // `tokenizer_digest`.
  Shard(const std::string& path, const std::string& tokenizer_digest, int64_t vocab);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  int64_t size() const { return examples_; }
  // Example i's ids (0 <= i < size()): a view into the mapped file.
  struct Ids {
    const int32_t* begin;
    const int32_t* end;
  };
  Ids source(int64_t i) const {
    return {source_ids_ + source_offsets_[i], source_ids_ + source_offsets_[i + 1]};
  }
  Ids target(int64_t i) const {
    return {target_ids_ + target_offsets_[i], target_ids_ + target_offsets_[i + 1]};
  }
  int64_t source_length(int64_t i) const {
    return static_cast<int64_t>(source_offsets_[i + 1] - source_offsets_[i]);
  }
  int64_t target_length(int64_t i) const {
    return static_cast<int64_t>(target_offsets_[i + 1] - target_offsets_[i]);
  }
  const nlohmann::json& header() const { return header_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  nlohmann::json header_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  int64_t examples_ = 0;
  const uint64_t* source_offsets_ = nullptr;
  const uint64_t* target_offsets_ = nullptr;
  const int32_t* source_ids_ = nullptr;
  const int32_t* target_ids_ = nullptr;
};

}  // namespace seqlab
