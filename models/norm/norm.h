// Normalisation layers behind one interface and registry, so a transformer's norm (and where it
// sits, model.transformer.norm_placement) is a config choice: the LayerNorm vs RMSNorm vs Dynamic
// Tanh ablation is one --set.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

struct NormContext {
  const Config& config;
  int64_t dim;  // features normalised over (the last dimension)
};

class NormImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;  // [..., D] -> [..., D]
};
TORCH_MODULE(Norm);

SEQLAB_DECLARE_REGISTRY(norm_registry, Norm, const NormContext&);

template <typename Impl>
bool register_norm(const std::string& name, const std::string& help) {
  return norm_registry().add(
      name,
      [](const NormContext& c) {
        return Norm(std::shared_ptr<NormImpl>(std::make_shared<Impl>(c)));
      },
      help);
}

}  // namespace seqlab
