// An optimizer's state as named tensors and JSON, for checkpoints that store tensors and metadata
// only (no pickled objects). Per parameter (named as in the model): Adam/AdamW's step count and
// moments, SGD's momentum buffer; per group: the options (learning rate, betas, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/config.h"
#include "core/tensor_file.h"

namespace seqlab {

struct OptimizerSnapshot {
  Json meta;             // {"kind": "adamw", "groups": [...], "steps": {param: n}}
  NamedTensors tensors;  // "<prefix><param>.<field>"
};

// The state of `optimizer` over `model`'s parameters. Error for an optimizer seqlab cannot store.
OptimizerSnapshot snapshot_optimizer(torch::optim::Optimizer& optimizer, torch::nn::Module& model,
                                     const std::string& prefix);

// Checks everything (the kind, the groups, every stored moment has its parameter's dtype and shape)
// and only then replaces `optimizer`'s state. InputError naming the file on any mismatch.
void restore_optimizer(torch::optim::Optimizer& optimizer, torch::nn::Module& model,
                       const Json& meta, const TensorFile& file, const std::string& prefix);

}  // namespace seqlab
