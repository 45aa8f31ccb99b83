// Luong et al. 2015, eq. 8 ("concat"): score(h_t, h_s) = v_a^T tanh(W_a [h_t; h_s]). W_a applied
// to the concatenation equals W_q h_t + W_k h_s with W_a = [W_q W_k], computed that way so the
// [Tq x Tk] concatenation is never materialised; unlike additive it has a single shared bias.
#include <torch/torch.h>

#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class ConcatScorerImpl : public ScorerImpl {
 public:
  explicit ConcatScorerImpl(const ScorerDims& d)
      : query_(register_module("query", torch::nn::Linear(d.query_dim, d.hidden_dim))),
        key_(register_module(
            "key",
            torch::nn::Linear(torch::nn::LinearOptions(d.key_dim, d.hidden_dim).bias(false)))),
        v_(register_module(
            "v", torch::nn::Linear(torch::nn::LinearOptions(d.hidden_dim, 1).bias(false)))) {}
  torch::Tensor project_keys(const torch::Tensor& k) override { return key_(k); }
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& wk) override {
    return v_(torch::tanh(query_(q).unsqueeze(2) + wk.unsqueeze(1))).squeeze(-1);  // [B, Tq, Tk]
  }

 private:
  torch::nn::Linear query_, key_, v_;
};

const bool registered =
    register_scorer<ConcatScorerImpl>("concat", "Luong et al. 2015: v^T tanh(W [q; k])");

}  // namespace
}  // namespace seqlab
