// A GRU layer's recurrence over input gates computed beforehand, with a hand-written backward
// pass (the way cuDNN and oneDNN structure it). The input projection W_ih x_t + b_ih of every time
// step is one GEMM outside (so a term that is the same at every step, such as a decoder's source
// summary, is projected once per sentence, not once per token); the loop does one [B, H] x
// [H, 3H] product and five elementwise kernels per step; the backward pass does one product per
// step for the state's gradient and forms the recurrent weights' gradient of all steps in one
// GEMM of depth T x B (LibTorch's gru forms and sums one per step).
//
// Same gate order and equations as torch::gru (r, z, n; h' = n + z (h - n)); equal to it up to
// float rounding in outputs and gradients (tests/models/gru_sequence_test.cpp).
#pragma once

#include <torch/types.h>

namespace seqlab {

// gates [B, T, 3H] (W_ih x_t + b_ih), h0 [B, H], w_hh [3H, H], b_hh [3H] -> outputs [B, T, H].
torch::Tensor gru_sequence(const torch::Tensor& gates, const torch::Tensor& h0,
                           const torch::Tensor& w_hh, const torch::Tensor& b_hh);

}  // namespace seqlab
