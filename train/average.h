// Checkpoint averaging (Vaswani et al. 2017 averaged the last 5-20 checkpoints; fairseq's
// scripts/average_checkpoints.py, OpenNMT's average_models.py): with train.keep_last N the trainer
// keeps the weights of its last N checkpoints in RUN/checkpoints/step-<S>.safetensors, and
// `seqlab average RUN [--last N]` averages them, parameter by parameter, into a run directory of
// its own (config, tokenizer and labels copied; best.safetensors the average) that `seqlab eval`,
// `translate` and the rest use like any run.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "core/config.h"

namespace seqlab {

// Writes `model`'s weights as RUN/checkpoints/step-<step>.safetensors (atomically) and removes all
// but the newest `keep` such files.
void keep_step_weights(torch::nn::Module& model, const std::string& run_dir, int64_t step,
                       int64_t keep);

// The kept step weights of a run, oldest first: {step, path}.
std::vector<std::pair<int64_t, std::string>> kept_step_weights(const std::string& run_dir);

// Averages the newest `last` kept step weights (0: all of them) into `out_dir` (empty:
// RUN/average-last<N>); floating-point tensors are averaged in double precision and rounded once,
// so the average of identical checkpoints is that checkpoint bit for bit; integer buffers come from
// the newest. Returns {"run", "steps", "files"}. InputError when the run kept no step weights,
// when fewer than `last` exist, or when one does not fit the model.
Json average_run(const std::string& run_dir, int64_t last, const std::string& out_dir = "");

}  // namespace seqlab
