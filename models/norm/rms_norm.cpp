// RMSNorm (Zhang and Sennrich 2019): x / sqrt(mean(x^2) + eps) * gamma; no centring, no bias.
#include <torch/torch.h>

#include "models/norm/norm.h"

namespace seqlab {
namespace {

class RmsNormImpl : public NormImpl {
 public:
  explicit RmsNormImpl(const NormContext& c) : eps_(c.config.get_number("model.norm.eps")) {
    weight_ = register_parameter("weight", torch::ones({c.dim}));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps_) * weight_;
  }

 private:
  double eps_;
  torch::Tensor weight_;
};

const bool registered = register_norm<RmsNormImpl>(
    "rms_norm", "Zhang and Sennrich 2019: scale by the root mean square, learned gain");

}  // namespace
}  // namespace seqlab
