// Attention scorers: raw alignment scores between queries and keys. Masking and the softmax happen
// in one place (attention.h), not in each scorer, so a new variant is only its scoring rule:
// one .cpp file with the class and one registration line (docs/adding-an-attention-variant.md).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/registry.h"

namespace seqlab {

struct ScorerDims {
  int64_t query_dim;   // Dq
  int64_t key_dim;     // Dk
  int64_t hidden_dim;  // inner width for scorers that have one (additive, concat)
};

class ScorerImpl : public torch::nn::Module {
 public:
  // q [B, Tq, Dq], k [B, Tk, Dk] -> scores [B, Tq, Tk]
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k) {
    return score(q, project_keys(k));
  }
  // The part of the score that depends on keys alone (e.g. U h_j of Bahdanau attention). A
  // decoder computes it once per source and reuses it at every step; identity by default.
  virtual torch::Tensor project_keys(const torch::Tensor& k) { return k; }
  // q [B, Tq, Dq], projected keys [B, Tk, *] -> scores [B, Tq, Tk]. The one method a variant
  // must write.
  virtual torch::Tensor score(const torch::Tensor& q, const torch::Tensor& projected_keys) = 0;
};
TORCH_MODULE(Scorer);

SEQLAB_DECLARE_REGISTRY(scorer_registry, Scorer, const ScorerDims&);

// Registers a scorer class constructible from ScorerDims: one line in the variant's file.
template <typename Impl>
bool register_scorer(const std::string& name, const std::string& help) {
  return scorer_registry().add(
      name,
      [](const ScorerDims& dims) {
        return Scorer(std::shared_ptr<ScorerImpl>(std::make_shared<Impl>(dims)));
      },
      help);
}

}  // namespace seqlab
