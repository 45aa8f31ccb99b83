// Bahdanau et al. 2015, eq. 6 / appendix A.1.2: e_ij = v^T tanh(W s_{i-1} + U h_j).
#include <torch/torch.h>

#include "models/attention/attention.h"
#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class AdditiveScorerImpl : public ScorerImpl {
 public:
  explicit AdditiveScorerImpl(const ScorerDims& d)
      : query_(register_module(
            "query",
            torch::nn::Linear(torch::nn::LinearOptions(d.query_dim, d.hidden_dim).bias(false)))),
        key_(register_module("key", torch::nn::Linear(d.key_dim, d.hidden_dim))),
        v_(register_module(
            "v", torch::nn::Linear(torch::nn::LinearOptions(d.hidden_dim, 1).bias(false)))) {}

  torch::Tensor project_keys(const torch::Tensor& k) override { return key_(k); }  // U h_j
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& uk) override {
    return additive_scores(query_(q), uk, v_->weight);  // [B, Tq, Tk], fused on the CPU
  }

 private:
  torch::nn::Linear query_, key_, v_;
};

const bool registered =
    register_scorer<AdditiveScorerImpl>("additive", "Bahdanau et al. 2015: v^T tanh(W q + U k)");

}  // namespace
}  // namespace seqlab
