// Optimizers as a registry ("optimizers"): train.optimizer names one, `seqlab list optimizers`
// shows them. Each factory reads its own settings from the config.
#pragma once

#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>

#include "core/config.h"
#include "core/registry.h"

namespace seqlab {

SEQLAB_DECLARE_REGISTRY(optimizer_registry, std::shared_ptr<torch::optim::Optimizer>, const Config&,
                        std::vector<torch::Tensor>);

// The optimizer train.optimizer names, over `parameters`.
std::shared_ptr<torch::optim::Optimizer> make_optimizer(const Config& config,
                                                        std::vector<torch::Tensor> parameters);

void set_lr(torch::optim::Optimizer& optimizer, double lr);

}  // namespace seqlab
