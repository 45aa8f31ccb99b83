// Reservoir computing (Jaeger 2001; Jaeger and Haas 2004; Lukosevicius 2012's practical guide):
// a fixed random recurrent network whose states feed a trained linear readout. The leaky update,
// for a drive u_t already multiplied by the input weights,
//     x_t = (1 - a) x_{t-1} + a f(u_t + W x_{t-1} + W_fb y_{t-1} + b + noise),
// with W sparse (model.reservoir.connectivity) and rescaled to the configured spectral radius.
// Without recurrence (W = 0) it is an extreme learning machine (Huang et al. 2006).
//
// Every fixed matrix is a registered buffer: saved with the weights, so a reloaded run runs on
// exactly the matrices it was fitted with, never on re-drawn ones. The buffers never take
// gradients; callers run the reservoir under NoGradGuard unless its input comes from a trained
// part (a GRU encoder under a reservoir decoder trained by SGD backpropagates through it).
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/config.h"

namespace seqlab {

struct ReservoirOptions {
  int64_t units = 500;
  double input_scaling = 1.0;       // input weights uniform in [-s, s]
  double input_connectivity = 1.0;  // share of nonzero input weights
  double spectral_radius = 0.9;     // largest |eigenvalue| of W after rescaling
  double connectivity = 0.1;        // share of nonzero recurrent weights
  double leak = 1.0;                // a in (0, 1]; 1 = no leak
  double bias_scaling = 0.0;        // bias uniform in [-s, s]
  double feedback_scaling = 1.0;    // output feedback weights uniform in [-s, s]
  double noise = 0.0;               // state noise amplitude while fitting (train mode only)
  std::string activation = "tanh";  // tanh | identity
  bool recurrent = true;            // false: extreme learning machine
  uint64_t seed = 1;
  torch::Dtype dtype = torch::kFloat32;

  // From model.reservoir.* (validated by the config schema).
  static ReservoirOptions from_config(const Config& config);
};

// The recurrent core. Inputs arrive as drives (input weights already applied, [B, T, N]) so text
// can look a token's column up while series multiply a dense input matrix.
class ReservoirImpl : public torch::nn::Module {
 public:
  // `feedback_dim` > 0 adds output feedback weights [N, feedback_dim].
  ReservoirImpl(const ReservoirOptions& options, int64_t feedback_dim = 0);

  // One step: state [B, N], drive [B, N], feedback [B, O] or undefined -> next state [B, N].
  // Without recurrence and leak the state is not read (undefined is fine) and the drive may have
  // any leading shape.
  torch::Tensor step(const torch::Tensor& state, const torch::Tensor& drive,
                     const torch::Tensor& feedback = {});
  // All steps: drive [B, T, N] -> states [B, T, N]. With `mask` [B, T] (true = real), a row's
  // state stays as it was over padding. `initial` [B, N] or undefined for zeros.
  torch::Tensor run(const torch::Tensor& drive, const torch::Tensor& mask = {},
                    const torch::Tensor& initial = {});

  // Uniform [-scale, scale] with the given share of nonzeros, drawn from this reservoir's own
  // generator (so a reservoir's matrices depend on model.reservoir.seed alone).
  torch::Tensor random_matrix(int64_t rows, int64_t cols, double scale, double density);
  // Token input weights [vocab, N] (float32): a token's drive is its row (the input matrix times
  // its one-hot), drawn with input_scaling and input_connectivity; the padding id's row is zero.
  torch::Tensor token_inputs(int64_t vocab);

  const ReservoirOptions& options() const { return options_; }
  int64_t units() const { return options_.units; }
  torch::Tensor recurrent_weight() const { return recurrent_; }
  torch::Tensor feedback_weight() const { return feedback_; }

 private:
  // x W^T, the fastest way for the shape: for one row (a time series) a gather of the nonzeros
  // and a scatter-add when W has under 10% of them; for batches a COO sparse product when under
  // 1%; otherwise a dense GEMM. The sparse forms are copies of the buffer, remade when it changes
  // (loading weights) or moves.
  torch::Tensor recurrent_product(const torch::Tensor& state);

  ReservoirOptions options_;
  at::Generator generator_;
  torch::Tensor recurrent_, bias_, feedback_;
  torch::Tensor sparse_, rows_, cols_, values_;
  int64_t sparse_version_ = -1;
  const void* sparse_source_ = nullptr;
};
TORCH_MODULE(Reservoir);

// Largest absolute eigenvalue of a square matrix, from all eigenvalues (LAPACK geev in float64)
// up to 3000 rows; above that, Gelfand's formula rho = lim ||W^k||^(1/k) by repeated squaring
// with renormalisation until successive estimates agree to 1e-5 (a dense eigensolve of a large
// reservoir would take minutes). Works for sparse and non-normal matrices alike; a nilpotent
// matrix gives 0.
double spectral_radius(const torch::Tensor& matrix);
// Gelfand's formula alone (the large-matrix path), for any size.
double spectral_radius_by_powers(const torch::Tensor& matrix);

}  // namespace seqlab
