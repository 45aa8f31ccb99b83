#include "bench/forecast.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "data/mackey_glass.h"
#include "eval/line_plot.h"
#include "train/series.h"

namespace seqlab {
namespace {

double squash(double y) { return std::tanh(y - 1); }
// A run that diverged (NaN) counts as the farthest prediction the squashing allows.
double unsquash(double s) {
  if (!std::isfinite(s)) s = 1;
  return std::atanh(std::clamp(s, -1 + 1e-15, 1 - 1e-15)) + 1;
}

// The variance of the Mackey-Glass signal, from a long run (about 0.05 for tau = 17).
double signal_variance() {
  auto y = mackey_glass(20000, 12345);
  double mean = 0, square = 0;
  for (double v : y) mean += v;
  mean /= double(y.size());
  for (double v : y) square += (v - mean) * (v - mean);
  return square / double(y.size());
}

std::unique_ptr<SeriesPredictor> make_model(const std::string& name, const ForecastOptions& o,
                                            uint64_t seed) {
  if (name == "gru") {
    SeriesGruOptions g;
    g.updates = o.gru_updates;
    g.seed = seed;
    return std::make_unique<SeriesGru>(g);
  }
  if (name != "esn" && name != "elm")
    throw InputError("unknown forecast model '" + name + "'; valid: esn, elm, gru");
  SeriesReservoirOptions r;
  r.reservoir.units = o.units;
  r.reservoir.spectral_radius = o.spectral_radius;
  r.reservoir.connectivity = o.connectivity;
  r.reservoir.leak = 1.0;
  r.reservoir.bias_scaling = 0.0;  // the bias is the constant input (0.02) and its weights
  r.reservoir.input_scaling = o.input_scaling;
  r.reservoir.feedback_scaling = o.feedback_scaling;
  r.reservoir.noise = o.noise;
  r.reservoir.recurrent = name == "esn";
  r.reservoir.seed = seed;
  r.ridge = o.ridge;
  r.validation_horizon = o.horizon;
  return std::make_unique<SeriesReservoir>(r);
}

}  // namespace

std::vector<ForecastRow> run_mackey_glass(
    const ForecastOptions& o, const std::function<void(const std::string&, int64_t)>& on_trial) {
  if (o.washout >= o.train_steps)
    throw InputError(
        fmt::format("--washout {} must be below the {} training steps", o.washout, o.train_steps));
  if (o.horizon < 1) throw InputError("--horizon must be at least 1");
  const double variance = signal_variance();
  std::vector<ForecastRow> rows;
  // Trial 0's free runs, after the truth over the last 200 teacher-forced steps and the horizon.
  std::vector<PlotSeries> plot(1);
  plot[0].label = "truth";
  plot[0].color = {40, 40, 40};
  plot[0].thickness = 3;
  for (const auto& name : o.models) {
    ForecastRow row;
    row.model = name;
    row.trials = name == "gru" ? o.gru_trials : o.trials;
    double seconds = 0;
    for (int64_t trial = 0; trial < row.trials; ++trial) {
      // Trial t: the same series and reservoir seed for every model.
      const uint64_t seed = o.seed * 1000003 + uint64_t(trial);
      auto y = mackey_glass(o.train_steps + o.horizon, seed);
      std::vector<double> teacher;
      for (int64_t n = 0; n < o.train_steps; ++n) teacher.push_back(squash(y[size_t(n)]));
      auto start = std::chrono::steady_clock::now();
      auto model = make_model(name, o, seed);
      model->fit(teacher, o.washout);
      auto free_run = model->generate(o.horizon);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!std::isfinite(free_run.back())) ++row.diverged;
      double error = unsquash(free_run.back()) - y[size_t(o.train_steps + o.horizon - 1)];
      double normalised = error * error / variance;
      row.squared_errors.push_back(normalised);
      if (auto* reservoir = dynamic_cast<SeriesReservoir*>(model.get()))
        row.penalties.push_back(reservoir->penalty());
      if (trial == 0 && !o.plot.empty()) {
        PlotSeries s;
        s.label = name == "esn" ? "ESN" : name == "elm" ? "ELM" : "GRU";
        s.color = name == "esn"   ? std::array<unsigned char, 3>{200, 30, 30}
                  : name == "elm" ? std::array<unsigned char, 3>{30, 140, 30}
                                  : std::array<unsigned char, 3>{230, 140, 0};
        for (int64_t k = 0; k < o.horizon; ++k) {
          s.x.push_back(double(o.train_steps + k));
          s.y.push_back(unsquash(free_run[size_t(k)]));
        }
        plot.push_back(s);
        if (plot[0].x.empty())
          for (int64_t n = std::max<int64_t>(0, o.train_steps - 200); n < o.train_steps + o.horizon;
               ++n) {
            plot[0].x.push_back(double(n));
            plot[0].y.push_back(y[size_t(n)]);
          }
      }
      if (on_trial) on_trial(name, trial);
    }
    const double sum = std::accumulate(row.squared_errors.begin(), row.squared_errors.end(), 0.0);
    row.nrmse = row.trials > 0 ? std::sqrt(sum / double(row.trials)) : 0;
    row.seconds_per_trial = row.trials > 0 ? seconds / double(row.trials) : 0;
    rows.push_back(row);
  }
  if (!o.plot.empty() && !plot[0].x.empty())
    write_line_plot_png(o.plot,
                        fmt::format("Mackey-Glass, trial 0: {} free-running steps after {} "
                                    "teacher-forced",
                                    o.horizon, o.train_steps),
                        "time step", "y", plot);
  return rows;
}

Json forecast_json(const ForecastOptions& o, const std::vector<ForecastRow>& rows) {
  Json models = Json::array();
  for (const auto& r : rows) {
    std::vector<double> each;
    for (double e : r.squared_errors) each.push_back(std::sqrt(e));
    std::sort(each.begin(), each.end());
    double median = each.empty() ? 0 : each[each.size() / 2];
    double worst = each.empty() ? 0 : each.back();
    models.push_back({{"model", r.model},
                      {"trials", r.trials},
                      {"nrmse", r.nrmse},
                      {"log10_nrmse", std::log10(std::max(r.nrmse, 1e-300))},
                      {"median_trial_nrmse", median},
                      {"trial_nrmse",
                       [&] {
                         Json t = Json::array();
                         for (double e : r.squared_errors) t.push_back(std::sqrt(e));
                         return t;
                       }()},
                      {"trial_penalty", r.penalties},
                      {"worst_trial_nrmse", worst},
                      {"diverged", r.diverged},
                      {"seconds_per_trial", r.seconds_per_trial}});
  }
  return {{"task", "mackey-glass"},
          {"horizon", o.horizon},
          {"train_steps", o.train_steps},
          {"washout", o.washout},
          {"units", o.units},
          {"spectral_radius", o.spectral_radius},
          {"connectivity", o.connectivity},
          {"noise", o.noise},
          {"ridge", o.ridge},
          {"models", models}};
}

}  // namespace seqlab
