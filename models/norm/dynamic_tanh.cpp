// Dynamic Tanh (Zhu et al. 2025, "Transformers without Normalization"): gamma * tanh(alpha x) +
// beta, an element-wise stand-in for LayerNorm with one learnable scalar alpha per layer
// (initialised from model.norm.dyt_alpha; the paper uses 0.5 for most models).
#include <torch/torch.h>

#include "models/norm/norm.h"

namespace seqlab {
namespace {

const bool declared = ConfigSchema::global().add(
    key_number("model.norm.dyt_alpha", 0.5, "dyt: initial value of the learnable scalar alpha")
        .range(1e-6, 1e6));

class DynamicTanhImpl : public NormImpl {
 public:
  explicit DynamicTanhImpl(const NormContext& c) {
    alpha_ =
        register_parameter("alpha", torch::full({1}, c.config.get_number("model.norm.dyt_alpha")));
    weight_ = register_parameter("weight", torch::ones({c.dim}));
    bias_ = register_parameter("bias", torch::zeros({c.dim}));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::tanh(alpha_ * x) * weight_ + bias_;
  }

 private:
  torch::Tensor alpha_, weight_, bias_;
};

const bool registered = register_norm<DynamicTanhImpl>(
    "dyt", "Zhu et al. 2025: Dynamic Tanh gamma * tanh(alpha x) + beta, no statistics");

}  // namespace
}  // namespace seqlab
