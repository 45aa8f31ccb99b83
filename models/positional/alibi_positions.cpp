// ALiBi (Press et al. 2022, "Train short, test long"): no position embeddings; each head adds
// -m_h * |i - j| to its scores, with head slopes m_h = 2^(-8h/H) (for H not a power of two, the
// paper's interpolation: the slopes of the nearest power of two, then every other slope of twice
// as many). Encoders use the symmetric distance; in decoders the future is masked anyway.
#include <cmath>

#include <torch/torch.h>

#include "models/positional/positional.h"

namespace seqlab {
namespace {

std::vector<double> power_of_two_slopes(int64_t n) {
  std::vector<double> slopes;
  double start = std::pow(2.0, -8.0 / double(n));
  for (int64_t h = 1; h <= n; ++h) slopes.push_back(std::pow(start, double(h)));
  return slopes;
}

std::vector<double> alibi_slopes(int64_t heads) {
  int64_t lower = 1;
  while (lower * 2 <= heads) lower *= 2;
  auto slopes = power_of_two_slopes(lower);
  if (lower < heads) {
    auto extra = power_of_two_slopes(2 * lower);
    for (size_t i = 0; i < extra.size() && int64_t(slopes.size()) < heads; i += 2)
      slopes.push_back(extra[i]);
  }
  return slopes;
}

class AlibiPositionsImpl : public PositionalEncodingImpl {
 public:
  explicit AlibiPositionsImpl(const PositionalContext& c) {
    auto slopes = alibi_slopes(c.heads);
    slopes_ =
        register_buffer("slopes", torch::tensor(slopes, torch::kFloat).view({1, c.heads, 1, 1}));
  }

  torch::Tensor score_bias(const torch::Tensor& query_positions,
                           const torch::Tensor& key_positions) override {
    auto distance = relative_offsets(query_positions, key_positions).abs().to(slopes_.dtype());
    return -slopes_ * distance;  // [B|1, H, Tq, Tk]
  }

 private:
  torch::Tensor slopes_;
};

const bool registered = register_positional<AlibiPositionsImpl>(
    "alibi", "Press et al. 2022: per-head linear distance penalty on the scores, no embeddings");

}  // namespace
}  // namespace seqlab
