// Dropout (Srivastava et al. 2014) with torch::nn::Dropout's semantics, faster on the CPU.
//
// LibTorch 1.13's CPU dropout draws its mask with bernoulli_, which without MKL runs one thread
// and one Mersenne-Twister draw per element: 14% of a transformer training step here (the
// Python twin pays the same). This one hashes (seed, element index) with a counter-based mixer
// in a parallel loop, and the backward pass recomputes the mask from the seed instead of storing
// it. Each call draws its 64-bit seed from LibTorch's default CPU generator, so torch::manual_seed
// still fixes every mask. Other devices and dtypes use torch::dropout.
//
// The masks differ from bernoulli_'s (another random stream, the same distribution: each element
// kept independently with probability 1 - p, kept ones scaled by 1 / (1 - p)).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace seqlab {

// x with each element zeroed with probability p and the rest scaled by 1 / (1 - p) when
// `training`; x itself otherwise.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

// dropout(relu(x), p, training) in one pass, with the same mask for the same generator state; its
// backward reads the output (which the next layer keeps anyway) and needs neither the input nor
// the mask. The transformer's feed-forward block runs it between its two linear layers.
torch::Tensor relu_dropout(const torch::Tensor& x, double p, bool training);

class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  torch::Tensor forward(const torch::Tensor& x) { return seqlab::dropout(x, p_, is_training()); }
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace seqlab
