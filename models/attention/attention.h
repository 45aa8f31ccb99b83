// Turning scores into attention: masking, softmax and the weighted sum, in one place for every
// scorer and family. Rows whose keys are all masked get all-zero weights (and a zero context)
// instead of the NaN a plain softmax would give.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace seqlab {

// scores [..., Tq, Tk], key_mask [B, Tk] bool (true = real) broadcast over the middle dims, or
// undefined for no mask -> weights of the same shape, rows summing to 1 (0 when fully masked).
torch::Tensor attention_weights(const torch::Tensor& scores, const torch::Tensor& key_mask);

// The general form: `allowed` is a bool tensor broadcastable to scores (true = may attend), e.g.
// a key-padding mask combined with a causal one. Rows with nothing allowed get all-zero weights.
torch::Tensor masked_attention_weights(const torch::Tensor& scores, const torch::Tensor& allowed);

// The two batched products of attention, over rows N (batch x heads):
//   query_key_products: q [N, Tq, D] . k [N, Tk, D] -> q k^T [N, Tq, Tk]
//   weighted_values:    w [N, Tq, Tk] x v [N, Tk, D] -> w v   [N, Tq, D]
// Both are torch::matmul, except for one query per row in float32 on the CPU: every step of
// incremental decoding, and every step of an RNN attention decoder in training. There LibTorch's
// bmm runs N tiny GEMMs one call at a time (each with its own dispatch), and a fused loop over
// the rows in one parallel pass is 4-15x faster; its gradients are fused the same way.
torch::Tensor query_key_products(const torch::Tensor& q, const torch::Tensor& k);
torch::Tensor weighted_values(const torch::Tensor& w, const torch::Tensor& v);

// Bahdanau's scores v^T tanh(wq + uk) for projected queries wq [B, Tq, A] and keys uk [B, S, A],
// v [1, A] (a Linear's weight) -> [B, Tq, S]. Float32 on the CPU: one fused pass forward and one
// backward (tanh recomputed there), instead of a [B, Tq, S, A] sum, its tanh, a matrix-vector
// product and their gradients, each a pass over B x Tq x S x A floats; elsewhere those ops.
// Equal to them up to float rounding (the tanh here is a vectorised polynomial one).
torch::Tensor additive_scores(const torch::Tensor& wq, const torch::Tensor& uk,
                              const torch::Tensor& v);

// Rows that every step of a recurrence reads, mixed by that step's attention weights: rows
// [B, S, D] (e.g. the memory projected once per sentence), weights [B, 1, S] -> [B, 1, D], as
// weighted_values. Through weighted_values each step's backward pass would hand autograd a full
// [B, S, D] gradient for the rows, summed step by step (T passes over B x S x D floats); here
// each step records its weights and upstream gradient, and the rows' gradient is formed once,
// after the last step's backward, as one batched product sum_t w_t^T g_t. Float32 on the CPU
// with gradients; otherwise plain weighted_values.
class StepMixer {
 public:
  StepMixer(const torch::Tensor& rows, int64_t steps);
  torch::Tensor mix(const torch::Tensor& weights,
                    int64_t step);  // each step once, 0 <= step < steps

 private:
  torch::Tensor rows_, token_, weights_, grads_;  // weights_ [B, steps, S], grads_ [B, steps, D]
  int64_t steps_;
};

// Records attention maps when active: every attention module reports its weights as
// [B, heads, Tq, Tk] under a name. Off by default; when off, report() is one pointer check.
class AttentionRecorder {
 public:
  struct Map {
    std::string name;       // e.g. "decoder.cross", "layer2.self"
    torch::Tensor weights;  // [B, heads, Tq, Tk], detached, on CPU
  };
  AttentionRecorder();   // becomes the active recorder of this thread
  ~AttentionRecorder();  // restores the previous one
  AttentionRecorder(const AttentionRecorder&) = delete;
  AttentionRecorder& operator=(const AttentionRecorder&) = delete;

  const std::vector<Map>& maps() const { return maps_; }
  // Concatenates the maps recorded under `name` along Tq (one per decoding step).
  torch::Tensor stacked(const std::string& name) const;

  static bool active();
  static void report(const std::string& name, const torch::Tensor& weights);

 private:
  std::vector<Map> maps_;
  AttentionRecorder* previous_;
};

}  // namespace seqlab
