// One training run's skeleton, shared by the gradient trainer (trainer.cpp) and the ridge fitter
// (fitter.cpp), so that what they have in common cannot drift apart:
//
//   RunSession session(requested, run_dir, resume, distributed);  // config, device, seeds,
//                                                                 // communicator, data, model
//   TrainState state;
//   if (session.resume()) state = read_checkpoint(...);          // each its own tensors
//   session.begin(state);         // log trimmed and opened, world size carried, clock running
//   ... session.log().write(...), session.elapsed() ...
//   return session.finish(state); // "end" record; every rank waits for rank 0's checkpoint
//
// In a data-parallel job rank 0 alone writes the config, the log and checkpoints; the model
// starts from rank 0's weights once the caller broadcasts them (the trainer and the fitter do,
// after reading a checkpoint).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "core/log.h"
#include "models/seq2seq.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/resume.h"
#include "train/training_data.h"

namespace seqlab {

struct TrainResult;

class RunSession {
 public:
  // start_run (directory, config, threads, seeds, device), the communicator of a data-parallel
  // job, the training data and the model on its device.
  RunSession(const Config& requested, const std::string& run_dir, bool resume,
             const DistributedOptions& distributed);
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  const Config& config() const { return start_.config; }
  const std::string& run_dir() const { return run_dir_; }
  bool resume() const { return start_.resume; }  // a checkpoint is there to resume from
  const std::string& checkpoint_path() const { return start_.checkpoint_path; }
  torch::Device device() const { return start_.device; }
  uint64_t seed() const { return start_.seed; }
  bool main() const { return distributed_.is_main(); }
  int rank() const { return distributed_.rank; }
  int world() const { return distributed_.world_size; }
  Communicator* communicator() const { return communicator_.get(); }
  TrainingData& data() { return data_; }
  Seq2Seq& model() { return model_; }

  // Once the checkpoint's state is read (a default state when not resuming): rank 0 cuts its log
  // back to the checkpoint's step (keeping only `kept_events` when given, trim_run_log), the run's
  // world size is checked and recorded, the log opens (started over unless resuming) and the
  // clock continues from the state's elapsed seconds.
  void begin(TrainState& state, const std::vector<std::string>& kept_events = {});
  JsonLinesLog& log() { return log_; }
  // Seconds of training, this session's and those before it.
  double elapsed() const;

  // The "end" record with the result, then a barrier: no rank returns before rank 0 has written
  // the last checkpoint (a launcher that sees a rank exit may take the job for finished). The
  // wait counts against run.collective_timeout.
  TrainResult finish(const TrainState& state);

 private:
  std::chrono::steady_clock::time_point started_;
  std::string run_dir_;
  DistributedOptions distributed_;
  RunStart start_;
  std::unique_ptr<Communicator> communicator_;
  TrainingData data_;
  Seq2Seq model_{nullptr};
  JsonLinesLog log_;
  double elapsed_before_ = 0;
};

}  // namespace seqlab
