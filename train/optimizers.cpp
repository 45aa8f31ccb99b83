#include "train/optimizers.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(optimizer_registry, "optimizers");

namespace {

const bool declared =
    ConfigSchema::global().add(key_string("train.optimizer", "adamw", "optimizer").names_from([] {
      return optimizer_registry().names();
    })) &&
    ConfigSchema::global().add(key_number("train.lr", 1e-3, "peak learning rate").range(0, 100)) &&
    ConfigSchema::global().add(
        key_number("train.weight_decay", 0.0, "weight decay (decoupled for AdamW)").range(0, 10)) &&
    ConfigSchema::global().add(key_number("train.momentum", 0.0, "SGD momentum").range(0, 0.999));

// Betas as in Vaswani et al. 2017 (0.9, 0.98), also fairseq's transformer recipes.
const bool registered =
    optimizer_registry().add(
        "adamw",
        [](const Config& c,
           std::vector<torch::Tensor> p) -> std::shared_ptr<torch::optim::Optimizer> {
          return std::make_shared<torch::optim::AdamW>(
              p, torch::optim::AdamWOptions(c.get_number("train.lr"))
                     .weight_decay(c.get_number("train.weight_decay"))
                     .betas({0.9, 0.98}));
        },
        "Adam with decoupled weight decay (Loshchilov and Hutter 2019), betas (0.9, 0.98)") &&
    optimizer_registry().add(
        "adam",
        [](const Config& c,
           std::vector<torch::Tensor> p) -> std::shared_ptr<torch::optim::Optimizer> {
          return std::make_shared<torch::optim::Adam>(
              p, torch::optim::AdamOptions(c.get_number("train.lr"))
                     .weight_decay(c.get_number("train.weight_decay"))
                     .betas({0.9, 0.98}));
        },
        "Adam (Kingma and Ba 2015) with L2 weight decay, betas (0.9, 0.98)") &&
    optimizer_registry().add(
        "sgd",
        [](const Config& c,
           std::vector<torch::Tensor> p) -> std::shared_ptr<torch::optim::Optimizer> {
          return std::make_shared<torch::optim::SGD>(
              p, torch::optim::SGDOptions(c.get_number("train.lr"))
                     .weight_decay(c.get_number("train.weight_decay"))
                     .momentum(c.get_number("train.momentum")));
        },
        "stochastic gradient descent, optional momentum (train.momentum)");

}  // namespace

std::shared_ptr<torch::optim::Optimizer> make_optimizer(const Config& config,
                                                        std::vector<torch::Tensor> parameters) {
  return optimizer_registry().create(config.get_string("train.optimizer"), config,
                                     std::move(parameters));
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace seqlab
