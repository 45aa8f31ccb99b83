// Vaswani et al. 2017, section 3.5: PE(p, 2i) = sin(p / 10000^(2i/D)), PE(p, 2i+1) = cos(...),
// added to the embeddings. Computed for the positions asked for, so there is no maximum length.
#include <cmath>

#include <torch/torch.h>

#include "models/positional/positional.h"

namespace seqlab {
namespace {

class SinusoidalPositionsImpl : public PositionalEncodingImpl {
 public:
  explicit SinusoidalPositionsImpl(const PositionalContext& c) : dim_(c.model_dim) {}

  torch::Tensor embed(const torch::Tensor& x, const torch::Tensor& positions) override {
    auto options = x.options();
    auto i = torch::arange(0, dim_, 2, options);                             // [ceil(D/2)]
    auto inverse = torch::exp(i * (-std::log(10000.0) / double(dim_)));      // 1 / 10000^(2i/D)
    auto angles = positions.to(options).unsqueeze(-1) * inverse;             // [B|1, T, D/2]
    auto table = torch::stack({torch::sin(angles), torch::cos(angles)}, -1)  // interleaved
                     .flatten(-2)
                     .narrow(-1, 0, dim_);
    return x + table;
  }

 private:
  int64_t dim_;
};

const bool registered = register_positional<SinusoidalPositionsImpl>(
    "sinusoidal",
    "Vaswani et al. 2017: fixed sin/cos of geometric frequencies, added to embeddings");

}  // namespace
}  // namespace seqlab
