// Positional encodings behind one interface, so every transformer stack (and any scorer inside its
// attention) can swap them by config. An encoding acts through up to three hooks, each an
// identity by default: absolute encodings add to the token embeddings (sinusoidal, learned),
// rotary rotates per-head queries and keys, relative schemes add a bias to the raw scores
// (ALiBi, T5 buckets). Positions are explicit [B or 1, T] int64 tensors, so incremental decoding
// (position t alone) and prefixes of different lengths per row need no special cases.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

struct PositionalContext {
  const Config& config;
  int64_t model_dim;  // width of the token embeddings
  int64_t heads;      // attention heads (score biases are per head)
  bool causal;        // a decoder stack: queries never look ahead (T5 buckets are one-sided)
};

class PositionalEncodingImpl : public torch::nn::Module {
 public:
  // Token embeddings x [B, T, D] at positions [B|1, T] -> x with absolute positions added.
  virtual torch::Tensor embed(const torch::Tensor& x, const torch::Tensor& positions) {
    (void)positions;
    return x;
  }
  // Per-head queries or keys x [B, H, T, dh] at positions [B|1, T] -> rotated x.
  virtual torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& positions) {
    (void)positions;
    return x;
  }
  // Bias [B|1, H, Tq, Tk] added to the raw attention scores, or undefined for none.
  virtual torch::Tensor score_bias(const torch::Tensor& query_positions,
                                   const torch::Tensor& key_positions) {
    (void)query_positions;
    (void)key_positions;
    return {};
  }
};
TORCH_MODULE(PositionalEncoding);

SEQLAB_DECLARE_REGISTRY(positional_registry, PositionalEncoding, const PositionalContext&);

template <typename Impl>
bool register_positional(const std::string& name, const std::string& help) {
  return positional_registry().add(
      name,
      [](const PositionalContext& c) {
        return PositionalEncoding(
            std::shared_ptr<PositionalEncodingImpl>(std::make_shared<Impl>(c)));
      },
      help);
}

// key_positions - query_positions as [B|1, 1, Tq, Tk] (how far each key lies after each query).
torch::Tensor relative_offsets(const torch::Tensor& query_positions,
                               const torch::Tensor& key_positions);

}  // namespace seqlab
