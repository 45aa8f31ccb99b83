// A linear layer applied once per step of a recurrence, with its weight gradient formed once.
//
// Through torch::nn::functional::linear, every step's backward pass forms the weight's gradient
// from that step's [B, K] input alone (a GEMM of depth B) and autograd sums T of them, each a
// pass over the whole weight. Here each step records its input in the forward pass and its
// upstream gradient in the backward pass, and after the first step's backward (the last to run)
// the weight's gradient is one GEMM of depth T x B and the bias's one sum: what gru_sequence
// does for the plain GRU's recurrent weights, for recurrences written with LibTorch's ops.
// Without gradients (or off the CPU) it is plain linear.
#pragma once

#include <torch/types.h>

namespace seqlab {

class StepLinear {
 public:
  // weight [N, K], bias [N] (or undefined); `steps` calls of forward() on [batch, K] inputs.
  StepLinear(const torch::Tensor& weight, const torch::Tensor& bias, int64_t steps, int64_t batch);
  // x [batch, K] -> x W^T + b [batch, N]; each step once, 0 <= step < steps.
  torch::Tensor forward(const torch::Tensor& x, int64_t step);

 private:
  torch::Tensor weight_, bias_, token_, inputs_, grads_;  // inputs_ [T, B, K], grads_ [T, B, N]
  int64_t steps_;
};

}  // namespace seqlab
