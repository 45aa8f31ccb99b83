// Vaswani et al. 2017, eq. 1: q . k / sqrt(d). Keys are projected to the query width when the
// widths differ, so the scorer also works between an RNN decoder and a wider encoder.
#include <cmath>

#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class ScaledDotScorerImpl : public ScorerImpl {
 public:
  explicit ScaledDotScorerImpl(const ScorerDims& d) : scale_(1.0 / std::sqrt(double(d.query_dim))) {
    if (d.key_dim != d.query_dim)
      key_ = register_module(
          "key", torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, d.query_dim).bias(false)));
  }
  torch::Tensor project_keys(const torch::Tensor& k) override { return key_ ? key_(k) : k; }
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& keys) override {
    return query_key_products(q, keys) * scale_;  // [B, Tq, Tk]
  }

 private:
  double scale_;
  torch::nn::Linear key_{nullptr};
};

const bool registered =
    register_scorer<ScaledDotScorerImpl>("scaled_dot", "Vaswani et al. 2017: q . k / sqrt(d)");

}  // namespace
}  // namespace seqlab
