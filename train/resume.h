// Resume policy: what a run directory continues with. A resumed run takes the config it started
// with; the command line may change only how long, how often and where it goes on.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "train/checkpoint.h"
#include "train/distributed.h"

namespace seqlab {

// The config a resumed run continues with: the one saved in `config_path`, updated with the
// requested values of the keys a resume may change (max_steps, max_minutes, patience, threads,
// device, ...). Any other requested change is an InputError naming the keys, not dropped.
Config resumed_config(const std::string& config_path, const Config& requested);

// A resumed run's metrics.jsonl is cut back to what the checkpoint it resumes from had seen: the
// "start" record and every record of a step <= `step`, without "end" (it is written again when
// this session ends) and without step-less records written after the checkpoint (a fit's
// penalty search). Steps replayed after a kill -9 are then logged once, and a finished run run
// again ends with one "end" record. With `only` non-empty, only records of those events (and
// "start") are kept: the fitter keeps its pass ("fit") and solves again. Rewritten atomically;
// nothing to do if the file is absent.
void trim_run_log(const std::string& path, int64_t step, const std::vector<std::string>& only = {});

// A run records how many processes trained it (TrainState::extra "world_size", absent for one):
// a resumed run (`resumed`) must have as many, else InputError saying which --nproc to use
// (another count would split its batches otherwise). Then records `world_size` in `state`.
void carry_world_size(TrainState& state, bool resumed, int world_size, const std::string& run_dir);

// What the trainer and the fitter both do first: create the directory, settle the config
// (resumed or new) and save it, set threads and seeds, pick the device. In a data-parallel job
// only rank 0 writes the config, and run.threads is divided among the processes of a machine.
struct RunStart {
  Config config;
  bool resume = false;  // true only when a checkpoint is there to resume from
  std::string checkpoint_path;
  torch::Device device{torch::kCPU};
  uint64_t seed = 0;
};
RunStart start_run(const Config& requested, const std::string& run_dir, bool resume,
                   const DistributedOptions& distributed = {});

}  // namespace seqlab
