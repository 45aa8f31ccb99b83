// Real-valued series have their own small path (text types carry int64 ids only): one-step
// predictors that are teacher-forced on a series and then run freely on their own outputs.
//   SeriesReservoir  an echo-state network with output feedback (Jaeger and Haas 2004), or without
//                    recurrence an ELM; states in float64, readout fit by streamed ridge.
//   SeriesGru        a GRU with a linear output, trained by Adam on windows of the same series.
#pragma once

#include <memory>
#include <vector>

#include "models/reservoir/reservoir.h"
#include "train/ridge.h"

namespace seqlab {

class SeriesPredictor {
 public:
  virtual ~SeriesPredictor() = default;
  // Learns to predict series[n] from series[..n-1]; the first `washout` steps are not fitted.
  virtual void fit(const std::vector<double>& series, int64_t washout) = 0;
  // The next `steps` values after the fitted series, each fed back as the next input.
  virtual std::vector<double> generate(int64_t steps) = 0;
};

struct SeriesReservoirOptions {
  ReservoirOptions reservoir;  // recurrent = false for an ELM
  double input = 0.02;         // the constant bias input u (its weights: reservoir.input_scaling)
  // Per-row ridge penalty (train/ridge.h; solved from an SVD of the states, which are small
  // enough to hold); 0: chosen from a grid (1e-24 ... 1e-4, half decades) by free-run
  // error on the last `validation` teacher-forced steps (fitted on the steps before them, from
  // `validation_starts` starting points, `validation_horizon` steps each), then refitted on all.
  double ridge = 0;
  int64_t validation = 500;
  int64_t validation_horizon = 84;
  int64_t validation_starts = 10;
};

class SeriesReservoir : public SeriesPredictor {
 public:
  explicit SeriesReservoir(const SeriesReservoirOptions& options);
  void fit(const std::vector<double>& series, int64_t washout) override;
  std::vector<double> generate(int64_t steps) override;
  Reservoir& reservoir() { return reservoir_; }
  double penalty() const { return readout_.penalty; }

 private:
  // Free run from `state` after the value `last`, for `steps` steps, with `readout`.
  std::vector<double> run_free(torch::Tensor state, double last, int64_t steps,
                               const RidgeSolution& readout);

  SeriesReservoirOptions options_;
  Reservoir reservoir_{nullptr};
  torch::Tensor drive_;  // w_in * u, [1, N]
  RidgeSolution readout_;
  torch::Tensor state_;  // [1, N] after the last fitted step
  double last_ = 0;      // the last value of the fitted series
};

struct SeriesGruOptions {
  int64_t hidden = 64;
  int64_t updates = 1500;
  int64_t window = 100;  // truncated backpropagation through time
  int64_t batch = 32;
  double lr = 3e-3;  // Adam, cosine decay to 0
  uint64_t seed = 1;
};

class SeriesGru : public SeriesPredictor {
 public:
  explicit SeriesGru(const SeriesGruOptions& options);
  ~SeriesGru() override;
  void fit(const std::vector<double>& series, int64_t washout) override;
  std::vector<double> generate(int64_t steps) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seqlab
