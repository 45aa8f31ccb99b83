// The gradient path: AdamW/Adam/SGD, schedules, clipping, label smoothing, teacher forcing,
// validation (loss and BLEU) every N steps, early stopping, JSON-lines metrics, and atomic
// checkpoints holding model + optimizer + schedule + RNG + data position, so that --resume after
// any interruption (kill -9 included) ends with the same weights as an uninterrupted run.
#pragma once

#include <string>

#include "core/config.h"

namespace seqlab {

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;
  double best_valid_loss = 0;
  double best_valid_bleu = 0;
  bool early_stopped = false;
  double seconds = 0;
  Json to_json() const;
};

// Trains the model described by `config` into `run_dir`. With `resume`, continues from
// run_dir/checkpoint.pt with the config saved there; `config` may change only how long, how often
// and where it goes on (max_steps, max_minutes, patience, stop_min_lr, threads, device, ...); any
// other difference is an input error.
TrainResult train_model(const Config& config, const std::string& run_dir, bool resume);

}  // namespace seqlab
