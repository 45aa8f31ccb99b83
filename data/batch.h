// Batches: padded id tensors with lengths and masks, and length-bucketed batching by token budget
// (examples of similar length share a batch, so little compute goes to padding), shuffled
// deterministically from the seed and the epoch.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace seqlab {

struct Example {
  std::vector<int64_t> source;  // ids without bos/eos
  std::vector<int64_t> target;  // ids without bos/eos
  int64_t image = -1;  // captioning: the row of the split's images (data/image.h); -1 = none
};

struct Batch {
  torch::Tensor source;          // [B, S] int64, padded with Tokenizer::kPad
  torch::Tensor source_lengths;  // [B] int64
  torch::Tensor source_mask;     // [B, S] bool, true where real
  torch::Tensor target_in;       // [B, T] bos y1 .. yn (teacher forcing input)
  torch::Tensor target_out;      // [B, T] y1 .. yn eos (what the decoder must predict)
  torch::Tensor target_mask;     // [B, T] bool, true where target_out is real
  torch::Tensor images;          // [B, C, H, W] uint8 for captioning, else undefined
  std::vector<int64_t> indices;  // which examples, in batch order
  int64_t target_tokens = 0;     // real target tokens (eos included)

  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  Batch to(const torch::Device& device) const;
};

// How targets are framed for the decoder.
//   kSentence  target_in = bos y1 .. yn, target_out = y1 .. yn eos (text to generate)
//   kLabel     target_in = bos, target_out = y1 (classification: the target is one label id and
//              nothing follows it, so no eos is predicted)
enum class Framing { kSentence, kLabel };

// The two rules every batcher shares, for in-memory examples and shards alike: the real target
// tokens one example adds to a batch (its tokens and eos; one label), and the length a token
// budget buckets it by (the longer of its source and its bos-framed target).
inline int64_t framed_target_tokens(int64_t target_length, Framing framing) {
  return framing == Framing::kLabel ? 1 : target_length + 1;
}
inline int64_t bucket_length(int64_t source_length, int64_t target_length) {
  return source_length > target_length + 1 ? source_length : target_length + 1;
}

// Pads the examples at `indices` into a batch. With `images` ([N, C, H, W] uint8, a split's
// decoded images), the batch also holds each example's image (Example::image is its row).
Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              const torch::Tensor& images = {}, Framing framing = Framing::kSentence);

// The real target tokens a batch of these examples has (Batch::target_tokens), without collating.
int64_t count_target_tokens(const std::vector<Example>& examples,
                            const std::vector<int64_t>& indices,
                            Framing framing = Framing::kSentence);

// Groups examples into batches of at most `max_tokens` padded tokens (batch size times the longest
// source or target, eos included) and at most `max_sentences` examples (0 = no limit).
class TokenBucketBatcher {
 public:
  TokenBucketBatcher(const std::vector<Example>& examples, int64_t max_tokens,
                     int64_t max_sentences, uint64_t seed);
  // The same from each example's bucket length, max(source, target + 1) (bucket_lengths()): a
  // split on disk (data/shards.h) batches without loading its examples, into the same batches.
  TokenBucketBatcher(std::vector<int64_t> lengths, int64_t max_tokens, int64_t max_sentences,
                     uint64_t seed);
  static std::vector<int64_t> bucket_lengths(const std::vector<Example>& examples);

  // The batches of one epoch: shuffled within equal lengths, bucketed, batch order shuffled.
  // The same (seed, epoch) gives the same batches.
  std::vector<std::vector<int64_t>> epoch(int64_t epoch_index) const;
  // Batches in length order without shuffling (for evaluation).
  std::vector<std::vector<int64_t>> sorted() const;

 private:
  std::vector<std::vector<int64_t>> chunk(const std::vector<int64_t>& order) const;
  std::vector<int64_t> lengths_;  // per example: max(source, target) + 1
  int64_t max_tokens_;
  int64_t max_sentences_;
  uint64_t seed_;
};

}  // namespace seqlab
