// checkpoint.safetensors: what a run needs to go on exactly where it stopped. The gradient trainer
// stores the model, the optimizer and its loop position; the closed-form fitter stores the model
// and its float64 accumulators. Both store the torch RNG. Tensors and JSON metadata only (the
// safetensors format): loading one runs no code, and every tensor is checked against the model
// built from the run's config before a byte is copied. Written atomically (temp file + rename), so
// a kill at any moment leaves the previous checkpoint whole.
//
// Runs from before this format hold checkpoint.pt / best.pt, TorchScript archives that can run
// code when loaded: read_legacy_checkpoint reads one for `seqlab convert --trust-code` only.
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
  // InputError naming `origin` when a field is missing or of the wrong type.
  static TrainState from_json(const Json& j, const std::string& origin);
};

// `optimizer` may be null (the fitter has none); `tensors` are stored by name beside the model.
void write_checkpoint(const std::string& path, torch::nn::Module& model,
                      torch::optim::Optimizer* optimizer, const TrainState& state,
                      const std::map<std::string, torch::Tensor>& tensors = {});

// Restores model, optimizer (if given), the torch RNG and the named tensors (each read into the
// tensor given, whose dtype and shape it must have); returns the state. Everything is checked
// before anything is restored. InputError naming the file for an unreadable file, one that lacks
// something asked for, or one whose tensors do not fit the model.
TrainState read_checkpoint(const std::string& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer,
                           std::map<std::string, torch::Tensor>* tensors = nullptr);

// The format before safetensors (a TorchScript archive). Loading it runs whatever code the archive
// holds: only for files the user trusts (`seqlab convert --trust-code`; InputError otherwise). The
// stored named tensors land in `tensors`; `had_optimizer` says whether the archive held optimizer
// state (restored into `optimizer`).
TrainState read_legacy_checkpoint(const std::string& path, torch::nn::Module& model,
                                  torch::optim::Optimizer* optimizer,
                                  std::map<std::string, torch::Tensor>* tensors,
                                  bool* had_optimizer = nullptr);
// Weights alone (the old best.pt), or a legacy checkpoint's "model" entry.
void read_legacy_weights(torch::nn::Module& model, const std::string& path,
                         const std::string& entry = "");

}  // namespace seqlab
