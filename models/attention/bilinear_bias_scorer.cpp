// A plug-in example (docs/adding-an-attention-variant.md): multiplicative attention with a key
// bias, score(q, k) = q^T W k + b^T k. The bias lets a key be salient whatever the query, which
// the plain "general" scorer cannot express. This file is the whole variant.
#include <torch/torch.h>

#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class BilinearBiasScorerImpl : public ScorerImpl {
 public:
  explicit BilinearBiasScorerImpl(const ScorerDims& d)
      : w_(register_module(
            "w", torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, d.query_dim).bias(false)))),
        b_(register_module(
            "b", torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, 1).bias(false)))) {}

  // Everything that depends on keys alone is computed once per source: [W k ; b^T k].
  torch::Tensor project_keys(const torch::Tensor& k) override {
    return torch::cat({w_(k), b_(k)}, -1);  // [B, Tk, Dq + 1]
  }

  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& keys) override {
    auto wk = keys.narrow(-1, 0, q.size(-1));                    // [B, Tk, Dq]
    auto bias = keys.narrow(-1, q.size(-1), 1).transpose(1, 2);  // [B, 1, Tk]
    return torch::matmul(q, wk.transpose(1, 2)) + bias;          // [B, Tq, Tk]
  }

 private:
  torch::nn::Linear w_, b_;
};

const bool registered = register_scorer<BilinearBiasScorerImpl>(
    "bilinear_bias", "q^T W k + b^T k: multiplicative with a key bias (plug-in example)");

}  // namespace
}  // namespace seqlab
