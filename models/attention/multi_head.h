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
#include "models/dropout.h"
#include "models/positional/positional.h"

namespace seqlab {

// Keys and values ready to attend over: keys already rotated and passed through the scorer's
// project_keys, both [B, H, Tk, *]; positions [B|1, Tk] int64 of the keys; mask [B, Tk] bool
// (true = real) or undefined.
struct KeyValues {
  torch::Tensor keys, values, positions, mask;
};

struct MultiHeadOptions {
  int64_t model_dim = 0;  // query width and output width
  int64_t key_dim = 0;    // width of the sequence attended over (= model_dim for self-attention)
  int64_t heads = 1;
  std::string scorer = "scaled_dot";
  double dropout = 0.0;         // on the attention weights
  bool self_attention = false;  // queries, keys and values from one input: one fused projection
  std::string
      record_name;  // name the weights are reported under when an AttentionRecorder is active
};

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  // `positions` (may be null) is the stack's positional encoding, used for its rotate and
  // score_bias hooks; not owned (the stack registers it once for all its layers).
  MultiHeadAttentionImpl(const MultiHeadOptions& options, PositionalEncoding positions);

  // x [B, Tk, key_dim] at positions [B|1, Tk] -> its keys and values.
  KeyValues key_values(const torch::Tensor& x, const torch::Tensor& positions,
                       const torch::Tensor& mask);

  // Queries x [B, Tq, model_dim] at positions [B|1, Tq] over `kv` -> [B, Tq, model_dim]. Causal:
  // a query sees only keys at positions <= its own.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions, const KeyValues& kv,
                        bool causal);

  // Self-attention of x [B, T, model_dim] at positions [B|1, T] with one fused q/k/v projection:
  // x's keys and values are appended to `kv` (which holds earlier positions' keys and values, or
  // undefined ones, and the positions and mask of all of them), then x attends over all of it.
  torch::Tensor self_attention(const torch::Tensor& x, const torch::Tensor& positions,
                               KeyValues& kv, bool causal);

  // Self-attention (not causal) over packed rows: x [N, model_dim] are the real positions `rows`
  // (indices into B x T) of a padded batch with positions [B|1, T] and mask [B, T] -> [N,
  // model_dim]. The projections run on the N rows; only the attention itself sees the padding.
  torch::Tensor packed_self_attention(const torch::Tensor& x, const torch::Tensor& rows,
                                      int64_t batch, int64_t length, const torch::Tensor& positions,
                                      const torch::Tensor& mask);

 private:
  torch::Tensor project_query(const torch::Tensor& x);
  std::pair<torch::Tensor, torch::Tensor> project_key_value(const torch::Tensor& x);
  // Per-head keys [B, T, D] -> rotated, scorer-projected [B, H, T, *].
  torch::Tensor prepare_keys(const torch::Tensor& keys, const torch::Tensor& positions);
  torch::Tensor attend(const torch::Tensor& queries, const torch::Tensor& positions,
                       const KeyValues& kv, bool causal);
  // attend() before the output projection: [B, Tq, model_dim]
  torch::Tensor context(const torch::Tensor& queries, const torch::Tensor& positions,
                        const KeyValues& kv, bool causal);

  int64_t model_dim_, heads_, head_dim_;
  std::string record_name_;
  // Self-attention: in_ [3D, D] projects q, k and v in one GEMM. Otherwise query_ and key_value_.
  torch::nn::Linear in_{nullptr}, query_{nullptr}, key_value_{nullptr}, output_{nullptr};
  Dropout dropout_{nullptr};
  Scorer scorer_{nullptr};
  PositionalEncoding positions_{nullptr};
};
TORCH_MODULE(MultiHeadAttention);

}  // namespace seqlab
