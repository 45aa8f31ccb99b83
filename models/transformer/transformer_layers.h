// The pieces of a transformer stack (Vaswani et al. 2017): settings read from model.transformer.*,
// the position-wise feed-forward block, and encoder / decoder layers whose attention, positions
// and norms are all chosen by name. Norm placement: "post" is the original (x = norm(x + f(x)));
// "pre" (Xiong et al. 2020) normalises the input of each sublayer, and the stack ends in a norm.
#pragma once

#include <string>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "core/config.h"
#include "models/attention/multi_head.h"
#include "models/norm/norm.h"
#include "models/positional/positional.h"

namespace seqlab {

struct TransformerSettings {
  int64_t model_dim, heads, ffn_dim, encoder_layers, decoder_layers;
  std::string activation, norm, placement, positional, scorer;
  double dropout, attention_dropout;
  bool decoder_only, kv_cache, share_embeddings, tie_embeddings;
  explicit TransformerSettings(const Config& config);  // validates (d_model % heads etc.)
  bool pre_norm() const { return placement == "pre"; }
};

class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const TransformerSettings& s);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool gelu_;
  torch::nn::Linear in_{nullptr}, out_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(FeedForward);

// One residual sublayer's norm handling: pre -> x + f(norm(x)); post -> norm(x + f(x)).
class ResidualNormImpl : public torch::nn::Module {
 public:
  ResidualNormImpl(const Config& config, const TransformerSettings& s);
  torch::Tensor input(const torch::Tensor& x) { return pre_ ? norm_(x) : x; }
  torch::Tensor output(const torch::Tensor& x, const torch::Tensor& f) {
    auto y = x + dropout_(f);
    return pre_ ? y : norm_(y);
  }

 private:
  bool pre_;
  Norm norm_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(ResidualNorm);

class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  TransformerEncoderLayerImpl(const Config& config, const TransformerSettings& s,
                              PositionalEncoding positions, const std::string& name);
  // x [B, S, D] at positions [B|1, S], mask [B, S] -> [B, S, D]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions,
                        const torch::Tensor& mask);
  // The same over packed rows: x [N, D] holds the real positions `rows` of the padded [B, S]
  // batch (MultiHeadAttention::packed_self_attention) -> [N, D].
  torch::Tensor forward_packed(const torch::Tensor& x, const torch::Tensor& rows, int64_t batch,
                               int64_t length, const torch::Tensor& positions,
                               const torch::Tensor& mask);

 private:
  MultiHeadAttention self_{nullptr};
  FeedForward feed_forward_{nullptr};
  ResidualNorm self_norm_{nullptr}, feed_forward_norm_{nullptr};
};
TORCH_MODULE(TransformerEncoderLayer);

class TransformerDecoderLayerImpl : public torch::nn::Module {
 public:
  // memory_dim 0: no cross-attention (decoder-only models).
  TransformerDecoderLayerImpl(const Config& config, const TransformerSettings& s,
                              int64_t memory_dim, PositionalEncoding positions,
                              const std::string& name);
  // Keys and values of the memory for this layer's cross-attention (computed once per source).
  KeyValues cross_key_values(const torch::Tensor& memory, const torch::Tensor& mask);
  // x [B, T, D]: the new positions. `self` holds the keys/values of earlier positions (undefined
  // keys when there are none) and the positions and mask of all of them, the new ones included;
  // the new keys/values are appended to it. cross: undefined keys when there is no cross-attention.
  // `causal` false is for one new position after cached ones: every cached key is already earlier,
  // so the causal mask would allow everything and is skipped.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions, KeyValues& self,
                        const KeyValues& cross, bool causal = true);

 private:
  MultiHeadAttention self_{nullptr}, cross_{nullptr};
  FeedForward feed_forward_{nullptr};
  ResidualNorm self_norm_{nullptr}, cross_norm_{nullptr}, feed_forward_norm_{nullptr};
};
TORCH_MODULE(TransformerDecoderLayer);

// [B, T] positions offset..offset+T-1 for every row.
torch::Tensor position_range(int64_t batch, int64_t length, const torch::Tensor& offsets,
                             const torch::TensorOptions& options);

// Mean of the real states: [B, S, D], mask [B, S] -> [B, D] (zeros for an empty source).
torch::Tensor masked_mean(const torch::Tensor& states, const torch::Tensor& mask);

}  // namespace seqlab
