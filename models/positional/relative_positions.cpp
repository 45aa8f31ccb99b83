// T5 relative position biases (Raffel et al. 2020, section 2.1; Shaw et al. 2018): each offset
// key - query falls into one of model.positional.buckets buckets (exact for small offsets,
// logarithmic up to model.positional.max_distance, one bucket beyond), and each bucket has one
// learned scalar per head added to the scores. Encoders distinguish left from right (half the
// buckets each); decoders only look left. One table per stack, shared by its layers as in T5.
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/positional/positional.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("model.positional.buckets", 32, "relative positions: offset buckets (T5: 32)")
            .range(2, 4096)) &&
    ConfigSchema::global().add(key_int("model.positional.max_distance", 128,
                                       "relative positions: offsets beyond share the last bucket")
                                   .range(2, 1 << 20));

class RelativePositionsImpl : public PositionalEncodingImpl {
 public:
  explicit RelativePositionsImpl(const PositionalContext& c)
      : buckets_(c.config.get_int("model.positional.buckets")),
        max_distance_(c.config.get_int("model.positional.max_distance")),
        bidirectional_(!c.causal) {
    if (bidirectional_ && buckets_ < 4)
      throw InputError(
          fmt::format("relative positions: an encoder needs model.positional.buckets "
                      ">= 4 (half per direction), got {}",
                      buckets_));
    table_ = register_module("table", torch::nn::Embedding(buckets_, c.heads));
    torch::nn::init::normal_(table_->weight, 0.0, 0.1);
  }

  // Offsets key - query -> bucket ids (the T5 scheme).
  torch::Tensor bucket(const torch::Tensor& offsets) const {
    int64_t buckets = buckets_;
    auto n = -offsets;  // how far the key lies before the query
    auto result = torch::zeros_like(n);
    if (bidirectional_) {
      buckets /= 2;
      result = result + (n < 0).to(torch::kLong) * buckets;
      n = n.abs();
    } else {
      n = n.clamp_min(0);
    }
    const int64_t exact = buckets / 2;
    auto logarithmic =
        exact + (torch::log(n.to(torch::kFloat).clamp_min(1) / double(exact)) /
                 std::log(double(max_distance_) / double(exact)) * double(buckets - exact))
                    .to(torch::kLong);
    logarithmic = logarithmic.clamp_max(buckets - 1);
    return result + torch::where(n < exact, n, logarithmic);
  }

  torch::Tensor score_bias(const torch::Tensor& query_positions,
                           const torch::Tensor& key_positions) override {
    auto ids =
        bucket(relative_offsets(query_positions, key_positions).squeeze(1));  // [B|1, Tq, Tk]
    return table_(ids).permute({0, 3, 1, 2});                                 // [B|1, H, Tq, Tk]
  }

 private:
  int64_t buckets_, max_distance_;
  bool bidirectional_;
  torch::nn::Embedding table_{nullptr};
};

const bool registered = register_positional<RelativePositionsImpl>(
    "relative", "Raffel et al. 2020 (T5): learned per-head bias for log-spaced offset buckets");

}  // namespace
}  // namespace seqlab
