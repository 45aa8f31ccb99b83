// Learned absolute position embeddings (Gehring et al. 2017; BERT/GPT): one trained vector per
// position up to model.positional.max_length. Past the table a model has never seen a position:
// that is an error naming the limit, unless model.positional.overflow = "clamp" reuses the last
// row.
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/positional/positional.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(key_int("model.positional.max_length", 1024,
                                       "learned positions: rows of the position table")
                                   .range(1, 1 << 20)) &&
    ConfigSchema::global().add(key_string("model.positional.overflow", "error",
                                          "learned positions past max_length: error or clamp "
                                          "(reuse the last row)")
                                   .one_of({"error", "clamp"}));

class LearnedPositionsImpl : public PositionalEncodingImpl {
 public:
  explicit LearnedPositionsImpl(const PositionalContext& c)
      : max_length_(c.config.get_int("model.positional.max_length")),
        clamp_(c.config.get_string("model.positional.overflow") == "clamp") {
    table_ = register_module("table", torch::nn::Embedding(max_length_, c.model_dim));
    torch::nn::init::normal_(table_->weight, 0.0, 0.02);
  }

  torch::Tensor embed(const torch::Tensor& x, const torch::Tensor& positions) override {
    auto p = positions;
    if (clamp_) {
      p = p.clamp_max(max_length_ - 1);
    } else {
      int64_t longest = positions.numel() ? positions.max().item<int64_t>() + 1 : 0;
      if (longest > max_length_)
        throw InputError(fmt::format(
            "learned positions: position {} is past model.positional.max_length = {} (the "
            "sequence has {} positions); raise max_length before training, or set "
            "model.positional.overflow = \"clamp\"",
            longest - 1, max_length_, longest));
    }
    return x + table_(p);
  }

 private:
  int64_t max_length_;
  bool clamp_;
  torch::nn::Embedding table_{nullptr};
};

const bool registered = register_positional<LearnedPositionsImpl>(
    "learned", "trained absolute position vectors up to model.positional.max_length");

}  // namespace
}  // namespace seqlab
