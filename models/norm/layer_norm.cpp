// Layer normalisation (Ba et al. 2016): (x - mean) / sqrt(var + eps) * gamma + beta over features.
#include <torch/torch.h>

#include "models/norm/norm.h"

namespace seqlab {
namespace {

class LayerNormImpl : public NormImpl {
 public:
  explicit LayerNormImpl(const NormContext& c)
      : dim_(c.dim), eps_(c.config.get_number("model.norm.eps")) {
    weight_ = register_parameter("weight", torch::ones({c.dim}));
    bias_ = register_parameter("bias", torch::zeros({c.dim}));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::layer_norm(x, {dim_}, weight_, bias_, eps_);
  }

 private:
  int64_t dim_;
  double eps_;
  torch::Tensor weight_, bias_;
};

const bool registered = register_norm<LayerNormImpl>(
    "layer_norm", "Ba et al. 2016: centre and scale over features, learned gain and bias");

}  // namespace
}  // namespace seqlab
