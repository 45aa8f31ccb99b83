// Luong et al. 2015, eq. 8 ("dot"): score(h_t, h_s) = h_t^T h_s. Needs Dq == Dk.
#include <torch/torch.h>

#include "core/error.h"
#include "models/attention/attention.h"
#include "models/attention/scorer.h"

namespace seqlab {
namespace {

class DotScorerImpl : public ScorerImpl {
 public:
  explicit DotScorerImpl(const ScorerDims& d) {
    if (d.query_dim != d.key_dim)
      throw InputError("dot scorer needs equal query and key widths, got " +
                       std::to_string(d.query_dim) + " and " + std::to_string(d.key_dim) +
                       "; use general, scaled_dot with a projection, or additive");
  }
  torch::Tensor score(const torch::Tensor& q, const torch::Tensor& k) override {
    return query_key_products(q, k);  // [B, Tq, Tk]
  }
};

const bool registered = register_scorer<DotScorerImpl>("dot", "Luong et al. 2015: q . k");

}  // namespace
}  // namespace seqlab
