// checkpoint.pt: what a run needs to go on exactly where it stopped. The gradient trainer stores
// the model, the optimizer and its loop position; the closed-form fitter stores the model and its
// float64 accumulators. Both store the torch RNG. Written atomically (temp file + rename), so a
// kill at any moment leaves the previous checkpoint whole.
#pragma once

#include <limits>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/config.h"

namespace seqlab {

// Where a run stands, shared by the trainer (steps are updates) and the fitter (steps are
// batches of accumulated states).
struct TrainState {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed
  double best_valid_loss = std::numeric_limits<double>::infinity();
  double best_valid_bleu = 0;
  int64_t validations_without_improvement = 0;
  bool early_stopped = false;
  double elapsed_seconds = 0;  // time over all sessions (train.max_minutes counts this)
  Json schedule;               // the learning-rate schedule's state (trainer)
  Json extra;                  // anything else a method keeps (the fitter's chosen penalty)

  Json to_json() const;
  static TrainState from_json(const Json& j);
};

// `optimizer` may be null (the fitter has none); `tensors` are stored by name beside the model.
void write_checkpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer* optimizer, const TrainState& state,
                      const std::map<std::string, torch::Tensor>& tensors = {});

// Restores model, optimizer (if given), the torch RNG and the named tensors; returns the state.
// InputError for an unreadable file or one that lacks something asked for.
TrainState read_checkpoint(const std::string& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer,
                           std::map<std::string, torch::Tensor>* tensors = nullptr);

}  // namespace seqlab
