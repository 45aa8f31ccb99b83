// Free-running forecasts of Mackey-Glass (Jaeger and Haas 2004; GMD Report 148, section 6): each
// trial draws a series and a model, teacher-forces the model on the first train_steps samples
// (the first `washout` of them only warm it up), lets it run freely for `horizon` steps, and
// compares the last one with the truth. NRMSE_h = sqrt(mean over trials of (d - y)^2 / var(y)),
// on the unsquashed values, var(y) the variance of the Mackey-Glass signal.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

struct ForecastOptions {
  std::vector<std::string> models{"esn", "elm", "gru"};
  int64_t trials = 100;    // ESN and ELM trials
  int64_t gru_trials = 5;  // the GRU trains for each trial: far slower than a fit
  int64_t gru_updates = 1500;
  int64_t units = 1000;
  int64_t horizon = 84;
  int64_t train_steps = 3000;
  int64_t washout = 1000;
  double spectral_radius = 0.8;
  double connectivity = 0.01;
  double noise = 1e-10;
  double feedback_scaling = 1.0;
  double input_scaling = 1.0;
  double ridge = 0;  // 0: chosen per trial on the last 500 teacher-forced steps
  uint64_t seed = 1;
  std::string plot;  // PNG of trial 0's free runs against the truth; empty = none
};

struct ForecastRow {
  std::string model;
  int64_t trials = 0;
  double nrmse = 0;  // at the horizon, over trials
  double seconds_per_trial = 0;
  int64_t diverged = 0;  // free runs that blew up (counted as the farthest prediction)
  std::vector<double> squared_errors;  // per trial, normalised by the variance
  std::vector<double> penalties;       // per trial, the ridge penalty used (ESN, ELM)
};

// Runs the protocol for every model in options.models; `on_trial(model, trial)` is called after
// each trial.
std::vector<ForecastRow> run_mackey_glass(
    const ForecastOptions& options,
    const std::function<void(const std::string&, int64_t)>& on_trial = {});

Json forecast_json(const ForecastOptions& options, const std::vector<ForecastRow>& rows);

}  // namespace seqlab
