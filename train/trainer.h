// train_model: the one way a run directory is produced. train.method picks how:
//   sgd    the gradient path (this file's loop): optimizers from a registry, schedules, clipping,
//          label smoothing, teacher forcing, validation (loss and BLEU) every N steps, early
//          stopping, JSON-lines metrics, atomic checkpoints holding model + optimizer + schedule
//          + RNG + data position, so that --resume after any interruption (kill -9 included)
//          ends with the same weights as an uninterrupted run;
//   ridge  the closed-form fitter for readouts over fixed features (train/fitter.h).
// Both write the same run directory (train/run_directory.h) and return the same TrainResult.
#pragma once

#include <optional>

#include <string>

#include "core/config.h"
#include "train/distributed.h"

namespace seqlab {

struct TrainState;

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;
  double best_valid_loss = 0;
  double best_valid_bleu = 0;
  double best_valid_accuracy = -1;  // classification runs: at the best validation; -1 otherwise
  std::optional<double> best_valid_metric;  // train.early_stop_metric's best value (not "loss")
  bool early_stopped = false;
  double seconds = 0;
  Json to_json() const;
  static TrainResult from_state(const TrainState& state);
};

// Trains the model described by `config` into `run_dir`. With `resume`, continues from
// run_dir/checkpoint.safetensors with the config saved there; `config` may change only how long,
// how often and where it goes on (max_steps, max_minutes, patience, stop_min_lr, threads, device,
// ...); any other difference is an input error. With `distributed` active this process is one rank
// of a data-parallel job (train/distributed.h): every rank calls train_model with the same
// arguments.
TrainResult train_model(const Config& config, const std::string& run_dir, bool resume,
                        const DistributedOptions& distributed = {});

}  // namespace seqlab
