#include "models/positional/positional.h"

#include <torch/torch.h>

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(positional_registry, "positional");

torch::Tensor relative_offsets(const torch::Tensor& query_positions,
                               const torch::Tensor& key_positions) {
  return (key_positions.unsqueeze(1) - query_positions.unsqueeze(2)).unsqueeze(1);
}

namespace {

class NoPositionsImpl : public PositionalEncodingImpl {
 public:
  explicit NoPositionsImpl(const PositionalContext&) {}
};

const bool registered = register_positional<NoPositionsImpl>(
    "none", "no positions: attention alone is permutation-equivariant (a bag of tokens)");

}  // namespace
}  // namespace seqlab
