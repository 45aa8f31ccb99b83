// Multi-head attention over any registered scorer (Vaswani et al. 2017, section 3.2.2): queries,
// keys and values are projected and split into heads, the scorer compares each head's queries with
// its keys, positional hooks rotate q/k (rotary) or bias the scores (ALiBi, T5), masking and the
// softmax happen in attention.h, and the heads' outputs are joined and projected back.
//
// Keys and values are computed separately from their use (key_values), so a decoder caches them:
// cross-attention once per source, self-attention one new position per step.
#pragma once

#include <string>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "models/attention/scorer.h"
#include "models/positional/positional.h"

namespace seqlab {

// Keys and values ready to attend over: keys already rotated and passed through the scorer's
// project_keys, both [B, H, Tk, *]; positions [B|1, Tk] int64 of the keys; mask [B, Tk] bool
// (true = real) or undefined.
struct KeyValues {
  torch::Tensor keys, values, positions, mask;
};

struct MultiHeadOptions {
  int64_t model_dim = 0;     // query width and output width
  int64_t key_dim = 0;       // width of the sequence attended over (= model_dim for self-attention)
  int64_t heads = 1;
  std::string scorer = "scaled_dot";
  double dropout = 0.0;      // on the attention weights
  std::string record_name;   // name the weights are reported under when an AttentionRecorder is active
};

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  // `positions` (may be null) is the stack's positional encoding, used for its rotate and
  // score_bias hooks; not owned (the stack registers it once for all its layers).
  MultiHeadAttentionImpl(const MultiHeadOptions& options, PositionalEncoding positions);

  // x [B, Tk, key_dim] at positions [B|1, Tk] -> its keys and values.
  KeyValues key_values(const torch::Tensor& x, const torch::Tensor& positions, const torch::Tensor& mask);

  // Queries x [B, Tq, model_dim] at positions [B|1, Tq] over `kv` -> [B, Tq, model_dim]. Causal:
  // a query sees only keys at positions <= its own.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions, const KeyValues& kv,
                        bool causal);

  int64_t heads() const { return heads_; }

 private:
  int64_t heads_, head_dim_;
  std::string record_name_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, output_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  Scorer scorer_{nullptr};
  PositionalEncoding positions_{nullptr};
};
TORCH_MODULE(MultiHeadAttention);

}  // namespace seqlab
