// Rotary position embedding (Su et al. 2021, RoFormer): each pair of query/key channels is rotated
// by an angle proportional to the position, so q_m . k_n depends on m - n only. Channel i is paired
// with channel i + dh/2 (the "rotate half" layout of GPT-NeoX); frequencies base^(-2i/dh).
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/positional/positional.h"

namespace seqlab {
namespace {

const bool declared = ConfigSchema::global().add(
    key_number("model.positional.rotary_base", 10000.0, "rotary positions: frequency base")
        .range(2, 1e9));

class RotaryPositionsImpl : public PositionalEncodingImpl {
 public:
  explicit RotaryPositionsImpl(const PositionalContext& c)
      : head_dim_(c.model_dim / c.heads),
        base_(c.config.get_number("model.positional.rotary_base")) {
    if (head_dim_ % 2 != 0)
      throw InputError(
          fmt::format("rotary positions rotate channel pairs: the head width "
                      "d_model / heads = {} / {} = {} must be even",
                      c.model_dim, c.heads, head_dim_));
  }

  torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& positions) override {
    const int64_t half = head_dim_ / 2;
    auto options = x.options();
    auto inverse =
        torch::exp(torch::arange(half, options) * (-2.0 * std::log(base_) / double(head_dim_)));
    auto angles = positions.to(options).unsqueeze(-1) * inverse;  // [B|1, T, dh/2]
    auto cos = torch::cos(angles).unsqueeze(1),
         sin = torch::sin(angles).unsqueeze(1);  // [B|1, 1, T, dh/2]
    auto first = x.narrow(-1, 0, half), second = x.narrow(-1, half, half);
    return torch::cat({first * cos - second * sin, second * cos + first * sin}, -1);
  }

 private:
  int64_t head_dim_;
  double base_;
};

const bool registered = register_positional<RotaryPositionsImpl>(
    "rotary",
    "Su et al. 2021 (RoFormer): rotate queries and keys by position; scores see offsets only");

}  // namespace
}  // namespace seqlab
