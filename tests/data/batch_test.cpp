#include <catch2/catch.hpp>

#include <set>

#include "data/batch.h"
#include "tokenizers/tokenizer.h"

using seqlab::Example;
using seqlab::Tokenizer;

namespace {
std::vector<Example> make_examples(int count) {
  std::vector<Example> examples;
  for (int i = 0; i < count; ++i) {
    Example ex;
    int source_len = 1 + (i * 7) % 23, target_len = 1 + (i * 5) % 19;
    for (int t = 0; t < source_len; ++t) ex.source.push_back(4 + (i + t) % 50);
    for (int t = 0; t < target_len; ++t) ex.target.push_back(4 + (i * 3 + t) % 50);
    examples.push_back(ex);
  }
  return examples;
}
}  // namespace

TEST_CASE("collate pads ids, adds bos/eos and marks real positions in the masks") {
  std::vector<Example> examples = {{{5, 6, 7}, {8, 9}}, {{10}, {11, 12, 13}}};
  auto batch = seqlab::collate(examples, {0, 1});
  CHECK(batch.source.sizes() == torch::IntArrayRef({2, 3}));
  CHECK(batch.source[1][1].item<int64_t>() == Tokenizer::kPad);
  CHECK(batch.source_lengths[0].item<int64_t>() == 3);
  CHECK(batch.source_lengths[1].item<int64_t>() == 1);
  CHECK(batch.source_mask.sum().item<int64_t>() == 4);
  CHECK_FALSE(batch.source_mask[1][1].item<bool>());
  // target_in = bos y; target_out = y eos
  CHECK(batch.target_in.sizes() == torch::IntArrayRef({2, 4}));
  CHECK(batch.target_in[0][0].item<int64_t>() == Tokenizer::kBos);
  CHECK(batch.target_in[0][1].item<int64_t>() == 8);
  CHECK(batch.target_out[0][1].item<int64_t>() == 9);
  CHECK(batch.target_out[0][2].item<int64_t>() == Tokenizer::kEos);
  CHECK(batch.target_out[0][3].item<int64_t>() == Tokenizer::kPad);
  CHECK(batch.target_out[1][3].item<int64_t>() == Tokenizer::kEos);
  CHECK(batch.target_mask.sum().item<int64_t>() == 7);
  CHECK(batch.target_tokens == 7);
}

TEST_CASE("token-budget batches cover every example once and respect the budget") {
  auto examples = make_examples(500);
  seqlab::TokenBucketBatcher batcher(examples, 200, 0, 3);
  auto batches = batcher.epoch(0);
  std::multiset<int64_t> seen;
  for (const auto& batch : batches) {
    int64_t longest = 0;
    for (int64_t i : batch) {
      seen.insert(i);
      longest = std::max<int64_t>(
          longest, std::max(examples[i].source.size(), examples[i].target.size() + 1));
    }
    CHECK(longest * static_cast<int64_t>(batch.size()) <= 200);
  }
  CHECK(seen.size() == 500);
  CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 500);
}

TEST_CASE("bucketing groups similar lengths, so padding stays small") {
  auto examples = make_examples(1000);
  seqlab::TokenBucketBatcher batcher(examples, 400, 0, 3);
  int64_t padded = 0, real = 0;
  for (const auto& indices : batcher.epoch(0)) {
    auto batch = seqlab::collate(examples, indices);
    padded += batch.target_out.numel();
    real += batch.target_tokens;
  }
  CHECK(double(real) / double(padded) > 0.7);
}

TEST_CASE("batches are deterministic for a seed and epoch and differ across epochs") {
  auto examples = make_examples(300);
  seqlab::TokenBucketBatcher a(examples, 150, 0, 11), b(examples, 150, 0, 11),
      c(examples, 150, 0, 12);
  CHECK(a.epoch(0) == b.epoch(0));
  CHECK(a.epoch(1) == b.epoch(1));
  CHECK(a.epoch(0) != a.epoch(1));
  CHECK(a.epoch(0) != c.epoch(0));
}

TEST_CASE("a sentence cap limits batch size") {
  auto examples = make_examples(100);
  seqlab::TokenBucketBatcher batcher(examples, 100000, 8, 1);
  for (const auto& batch : batcher.epoch(0)) CHECK(batch.size() <= 8);
}
