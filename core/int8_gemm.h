// int8 weights for inference: linear layers' matrices quantized per output channel, activations
// quantized per row at run time, products accumulated in int32 by oneDNN's u8 x s8 GEMM.
//
// The scheme (what CTranslate2 and Marian call int8 inference, and PyTorch's dynamic
// quantization):
//   weight row j:  w_jk ~= sw_j * q_jk,            q in [-127, 127], sw_j = max_k |w_jk| / 127
//   input row i:   x_ik ~= sx_i * (a_ik - z_i),    a in [0, 127],    sx_i = (max - min) / 127
//   y_ij = sx_i * sw_j * (sum_k a_ik q_jk - z_i * sum_k q_jk) + b_j
// Activations use 7 bits (0..127) so that the products never saturate on CPUs without VNNI,
// where u8 x s8 pairs are summed in 16 bits (vpmaddubsw: 2 * 127 * 127 < 32767); with VNNI the
// same numbers come out, so results do not depend on the CPU's instruction set.
//
// Models are not rewritten: Int8Weights registers a module's matrices, and while it lives the
// oneDNN backend's mm/addmm kernels (core/gemm.h) send every product whose right operand is a
// registered weight's transpose (which is how linear layers, GRU/LSTM cells and tied output
// layers multiply) to the int8 GEMM; with gradients off only (training never sees int8).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace seqlab {

// A [N, K] fp32 matrix quantized per row (an output channel of a linear layer).
struct Int8Matrix {
  torch::Tensor values;    // [N, K] int8, contiguous
  torch::Tensor scales;    // [N] float: row j is scales[j] * values[j]
  torch::Tensor row_sums;  // [N] int32: sum_k values[j, k] (the activations' zero-point term)
};

Int8Matrix quantize_rows(const torch::Tensor& weight);
// Rows `ids` ([N'] int64) of a quantized matrix (a vocabulary shortlist's output rows).
Int8Matrix select_rows(const Int8Matrix& matrix, const torch::Tensor& ids);

// x [M, K] fp32 -> x W^T [M, N] fp32 (+ bias [N] when defined) through the int8 GEMM.
torch::Tensor int8_linear(const torch::Tensor& x, const Int8Matrix& weight,
                          const torch::Tensor& bias = {});

// Whether this CPU multiplies u8 x s8 with VNNI (AVX512-VNNI or AVX-VNNI); without it oneDNN's
// int8 GEMM runs 16-bit pair sums, which are often no faster than its fp32 sgemm.
bool int8_has_vnni();
// "int8 (avx512_core_vnni)" / "int8 (avx2, no VNNI: ...)": for logs, bench tables and --help.
std::string describe_int8_path();

// The 2-D fp32 parameters of a module (and its children) with at least 8 rows and 8 columns,
// quantized and registered for the int8 path while this object lives (it holds the oneDNN backend
// too). Embedding tables are registered as well: lookups never multiply, and a tied output layer
// multiplies by the table's transpose. Convolutions and buffers (a reservoir's fixed matrices)
// stay fp32. A weight changed in place after quantization (its version counter moved) goes back
// to the fp32 path.
class Int8Weights {
 public:
  explicit Int8Weights(torch::nn::Module& module);
  ~Int8Weights();
  Int8Weights(const Int8Weights&) = delete;
  Int8Weights& operator=(const Int8Weights&) = delete;

  int64_t matrices() const { return static_cast<int64_t>(keys_.size()); }
  int64_t fp32_bytes() const { return fp32_bytes_; }  // of the registered matrices
  int64_t int8_bytes() const { return int8_bytes_; }  // values, scales and row sums

 private:
  std::vector<const void*> keys_;
  int64_t fp32_bytes_ = 0, int8_bytes_ = 0;
  struct BackendHold;
  std::unique_ptr<BackendHold> backend_;
};

// The registered matrix whose transpose `mat2` ([K, N], strides [1, K]) is, or null; always null
// while gradients are recorded. Used by the oneDNN mm/addmm kernels; one atomic load when nothing
// is registered.
std::shared_ptr<const Int8Matrix> find_int8_weight(const torch::Tensor& mat2);

// "fp32" or "int8" (InputError naming both otherwise).
enum class Precision { fp32, int8 };
Precision parse_precision(const std::string& name);

}  // namespace seqlab
