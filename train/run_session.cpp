#include "train/run_session.h"

#include <fmt/format.h>

#include "train/trainer.h"

namespace seqlab {

RunSession::RunSession(const Config& requested, const std::string& run_dir, bool resume,
                       const DistributedOptions& distributed)
    : started_(std::chrono::steady_clock::now()),
      run_dir_(run_dir),
      distributed_(distributed),
      start_(start_run(requested, run_dir, resume, distributed)) {
  if (distributed.active())
    communicator_ = std::make_unique<Communicator>(distributed, start_.device);
  data_ = load_training_data(start_.config, run_dir, start_.resume, communicator_.get());
  model_ = Seq2Seq(start_.config, data_.tokenizer->vocab_size(), data_.target_vocab());
  model_->to(start_.device);
}

RunSession::~RunSession() = default;

void RunSession::begin(TrainState& state, const std::vector<std::string>& kept_events) {
  if (start_.resume && main()) trim_run_log(run_dir_ + "/metrics.jsonl", state.step, kept_events);
  carry_world_size(state, start_.resume, world(), run_dir_);
  // A run that starts over (no checkpoint to resume from) starts its log over too. Rank 0 logs.
  if (main()) log_ = JsonLinesLog(run_dir_ + "/metrics.jsonl", /*append=*/start_.resume);
  elapsed_before_ = state.elapsed_seconds;
}

double RunSession::elapsed() const {
  return elapsed_before_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

TrainResult RunSession::finish(const TrainState& state) {
  TrainResult result = TrainResult::from_state(state);
  log_.write({{"event", "end"}, {"result", result.to_json()}});
  if (communicator_) communicator_->barrier();
  return result;
}

}  // namespace seqlab
