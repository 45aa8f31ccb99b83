// Luong et al. 2015, eq. 8 ("general"): score(h_t, h_s) = h_t^T W_a h_s.
#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class GeneralScorerImpl : public ScorerImpl {
 public:
  explicit GeneralScorerImpl(const ScorerDims& d)
      : w_(register_module(
            "w", torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, d.query_dim).bias(false)))) {
  }
  torch::Tensor project_keys(const torch::Tensor& k) override { return w_(k); }  // W_a h_s
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& wk) override {
    return query_key_products(q, wk);  // [B, Tq, Tk]
  }

 private:
  torch::nn::Linear w_;
};

const bool registered = register_scorer<GeneralScorerImpl>("general", "Luong et al. 2015: q^T W k");

}  // namespace
}  // namespace seqlab
