#include "data/batch.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/random.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

Batch Batch::to(const torch::Device& device) const {
  Batch out = *this;
  out.source = source.to(device);
  out.source_lengths = source_lengths.to(device);
  out.source_mask = source_mask.to(device);
  out.target_in = target_in.to(device);
  out.target_out = target_out.to(device);
  out.target_mask = target_mask.to(device);
  if (images.defined()) out.images = images.to(device);
  return out;
}

int64_t count_target_tokens(const std::vector<Example>& examples,
                            const std::vector<int64_t>& indices, Framing framing) {
  int64_t tokens = 0;
  for (int64_t i : indices)
    tokens += framed_target_tokens(
        static_cast<int64_t>(examples[static_cast<size_t>(i)].target.size()), framing);
  return tokens;
}

Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              const torch::Tensor& images, Framing framing) {
  if (indices.empty()) throw Error("collate: empty batch");
  const auto batch_size = static_cast<int64_t>(indices.size());
  const bool label = framing == Framing::kLabel;
  int64_t source_len = 1, target_len = 1;
  for (int64_t i : indices) {
    source_len = std::max<int64_t>(source_len, static_cast<int64_t>(examples[i].source.size()));
    if (label && examples[i].target.size() != 1)
      throw Error(fmt::format("collate: example {} has {} targets, a label example has one", i,
                              examples[i].target.size()));
    target_len = std::max<int64_t>(
        target_len, static_cast<int64_t>(examples[i].target.size()) + (label ? 0 : 1));
  }
  auto source = torch::full({batch_size, source_len}, Tokenizer::kPad, torch::kInt64);
  auto target_in = torch::full({batch_size, target_len}, Tokenizer::kPad, torch::kInt64);
  auto target_out = torch::full({batch_size, target_len}, Tokenizer::kPad, torch::kInt64);
  auto source_lengths = torch::empty({batch_size}, torch::kInt64);
  auto src = source.accessor<int64_t, 2>();
  auto tin = target_in.accessor<int64_t, 2>();
  auto tout = target_out.accessor<int64_t, 2>();
  auto lengths = source_lengths.accessor<int64_t, 1>();
  Batch batch;
  for (int64_t b = 0; b < batch_size; ++b) {
    const Example& ex = examples[indices[b]];
    for (size_t t = 0; t < ex.source.size(); ++t) src[b][t] = ex.source[t];
    // An empty source still gets one (padding) position so shapes stay valid; its mask is false.
    lengths[b] = static_cast<int64_t>(ex.source.size());
    tin[b][0] = Tokenizer::kBos;
    batch.target_tokens += framed_target_tokens(static_cast<int64_t>(ex.target.size()), framing);
    if (label) {
      tout[b][0] = ex.target[0];
      continue;
    }
    for (size_t t = 0; t < ex.target.size(); ++t) {
      tin[b][t + 1] = ex.target[t];
      tout[b][t] = ex.target[t];
    }
    tout[b][ex.target.size()] = Tokenizer::kEos;
  }
  auto positions = torch::arange(source_len, torch::kInt64).unsqueeze(0);
  batch.source = source;
  batch.source_lengths = source_lengths;
  batch.source_mask = positions < source_lengths.unsqueeze(1);
  batch.target_in = target_in;
  batch.target_out = target_out;
  // target_in has bos where target_out has its first token, so out != pad marks real positions
  batch.target_mask = target_out != Tokenizer::kPad;
  if (images.defined()) {
    auto rows = torch::empty({batch_size}, torch::kInt64);
    auto row_of = rows.accessor<int64_t, 1>();
    for (int64_t b = 0; b < batch_size; ++b) {
      const int64_t row = examples[indices[b]].image;
      if (row < 0 || row >= images.size(0))
        throw Error(fmt::format("collate: example {} points at image {} of {}", indices[b], row,
                                images.size(0)));
      row_of[b] = row;
    }
    batch.images = images.index_select(0, rows);
  }
  batch.indices = indices;
  return batch;
}

TokenBucketBatcher::TokenBucketBatcher(const std::vector<Example>& examples, int64_t max_tokens,
                                       int64_t max_sentences, uint64_t seed)
    : TokenBucketBatcher(bucket_lengths(examples), max_tokens, max_sentences, seed) {}

TokenBucketBatcher::TokenBucketBatcher(std::vector<int64_t> lengths, int64_t max_tokens,
                                       int64_t max_sentences, uint64_t seed)
    : lengths_(std::move(lengths)),
      max_tokens_(max_tokens),
      max_sentences_(max_sentences),
      seed_(seed) {
  if (max_tokens <= 0) throw InputError("batch token budget must be positive");
}

std::vector<int64_t> TokenBucketBatcher::bucket_lengths(const std::vector<Example>& examples) {
  std::vector<int64_t> lengths;
  lengths.reserve(examples.size());
  for (const auto& ex : examples)
    lengths.push_back(bucket_length(static_cast<int64_t>(ex.source.size()),
                                    static_cast<int64_t>(ex.target.size())));
  return lengths;
}

std::vector<std::vector<int64_t>> TokenBucketBatcher::chunk(
    const std::vector<int64_t>& order) const {
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> current;
  int64_t longest = 0;
  for (int64_t i : order) {
    int64_t longer = std::max(longest, lengths_[i]);
    bool full = !current.empty() &&
                ((static_cast<int64_t>(current.size()) + 1) * longer > max_tokens_ ||
                 (max_sentences_ > 0 && static_cast<int64_t>(current.size()) >= max_sentences_));
    if (full) {
      batches.push_back(std::move(current));
      current.clear();
      longer = lengths_[i];
    }
    current.push_back(i);
    longest = longer;
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

std::vector<std::vector<int64_t>> TokenBucketBatcher::epoch(int64_t epoch_index) const {
  Rng rng(seed_ * 1000003ULL + static_cast<uint64_t>(epoch_index));
  std::vector<int64_t> order(lengths_.size());
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);  // random order within each length
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths_[a] < lengths_[b]; });
  auto batches = chunk(order);
  rng.shuffle(batches);
  return batches;
}

std::vector<std::vector<int64_t>> TokenBucketBatcher::sorted() const {
  std::vector<int64_t> order(lengths_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths_[a] < lengths_[b]; });
  return chunk(order);
}

}  // namespace seqlab
