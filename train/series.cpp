#include "train/series.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"
#include "train/optimizer_step.h"
#include "train/optimizers.h"
#include "train/schedule.h"

namespace seqlab {

SeriesReservoir::SeriesReservoir(const SeriesReservoirOptions& options) : options_(options) {
  options_.reservoir.dtype = torch::kFloat64;  // free runs amplify rounding; states are cheap
  reservoir_ = Reservoir(options_.reservoir, /*feedback_dim=*/1);
  auto input_weight =
      reservoir_->random_matrix(1, options_.reservoir.units, options_.reservoir.input_scaling, 1.0);
  drive_ = input_weight * options_.input;
}

void SeriesReservoir::fit(const std::vector<double>& series, int64_t washout) {
  const auto length = static_cast<int64_t>(series.size());
  if (washout >= length)
    throw InputError("series fit: the washout (" + std::to_string(washout) +
                     ") leaves no step of the " + std::to_string(length) + "-step series to fit");
  torch::NoGradGuard no_grad;
  const int64_t n = options_.reservoir.units;
  auto targets = torch::tensor(series, torch::kFloat64).unsqueeze(1);  // [L, 1]
  auto states = torch::empty({length, n}, torch::kFloat64);  // x(t), driven by series[t - 1]
  auto x = torch::zeros({1, n}, torch::kFloat64);
  auto previous = torch::zeros({1, 1}, torch::kFloat64);
  reservoir_->train();  // state noise while teacher forcing only
  for (int64_t t = 0; t < length; ++t) {
    x = reservoir_->step(x, drive_, previous);
    states[t].copy_(x[0]);
    previous.fill_(series[size_t(t)]);
  }
  reservoir_->eval();
  state_ = x;
  last_ = series.back();

  double penalty = options_.ridge;
  const int64_t horizon = options_.validation_horizon;
  const int64_t validation = std::min(options_.validation, (length - washout) / 3);
  if (penalty <= 0 && validation > horizon) {
    // Fit on [washout, L - V), choose by free runs inside the last V steps.
    const int64_t split = length - validation;
    RidgeSolver solver(states.slice(0, washout, split), targets.slice(0, washout, split));
    double best = std::numeric_limits<double>::infinity();
    for (double candidate : ridge_grid(1e-24, 1e-4, 41)) {
      RidgeSolution readout = solver.solve(candidate);
      double error = 0;
      for (int64_t k = 0; k < options_.validation_starts; ++k) {
        const int64_t start = split + k * (validation - horizon) /
                                          std::max<int64_t>(1, options_.validation_starts - 1);
        auto free =
            run_free(states[start - 1].unsqueeze(0), series[size_t(start - 1)], horizon, readout);
        for (int64_t h = 0; h < horizon; ++h) {
          double e = free[size_t(h)] - series[size_t(start + h)];
          error += std::isfinite(e) ? e * e : 1e30;
        }
      }
      if (error < best) {
        best = error;
        penalty = candidate;
      }
    }
  }
  if (penalty <= 0) penalty = 1e-10;
  readout_ = RidgeSolver(states.slice(0, washout), targets.slice(0, washout)).solve(penalty);
}

std::vector<double> SeriesReservoir::run_free(torch::Tensor x, double last, int64_t steps,
                                              const RidgeSolution& readout) {
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  auto previous = torch::full({1, 1}, last, torch::kFloat64);
  for (int64_t k = 0; k < steps; ++k) {
    x = reservoir_->step(x, drive_, previous);
    previous = readout.predict(x);  // [1, 1]
    double value = previous.item<double>();
    if (!std::isfinite(value) || std::abs(value) > 1e6) {  // diverged: the rest is no better
      out.resize(size_t(steps), std::numeric_limits<double>::quiet_NaN());
      return out;
    }
    out.push_back(value);
  }
  return out;
}

std::vector<double> SeriesReservoir::generate(int64_t steps) {
  if (!readout_.weight.defined()) throw Error("series reservoir: generate() before fit()");
  return run_free(state_, last_, steps, readout_);
}

struct SeriesGru::Impl {
  SeriesGruOptions options;
  torch::nn::GRU gru{nullptr};
  torch::nn::Linear output{nullptr};
  torch::Tensor hidden;  // [1, 1, H] after the fitted series
  double last = 0;
};

SeriesGru::SeriesGru(const SeriesGruOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  ScopedTorchSeed seed(options.seed);  // initial weights from options.seed alone
  impl_->gru = torch::nn::GRU(torch::nn::GRUOptions(1, options.hidden).batch_first(true));
  impl_->output = torch::nn::Linear(options.hidden, 1);
}

SeriesGru::~SeriesGru() = default;

void SeriesGru::fit(const std::vector<double>& series, int64_t washout) {
  auto& m = *impl_;
  const auto length = static_cast<int64_t>(series.size());
  const int64_t window = std::min(m.options.window, length - 1);
  if (window < 1) throw InputError("series fit: a GRU needs a series of at least 2 steps");
  auto values = torch::tensor(series, torch::kFloat32);
  std::vector<torch::Tensor> parameters = m.gru->parameters();
  for (const auto& p : m.output->parameters()) parameters.push_back(p);
  // Adam with its default betas (the series models' own choice), on the trainer's schedule and
  // clip-and-step path: cosine decay to 0 over the updates, gradients clipped at norm 1.
  torch::optim::Adam adam(parameters, torch::optim::AdamOptions(m.options.lr));
  ScheduleOptions schedule_options;
  schedule_options.max_steps = m.options.updates;
  auto schedule = schedule_registry().create("cosine", schedule_options);
  torch::Generator generator = at::detail::createCPUGenerator(m.options.seed);
  // Windows start anywhere; the first `washout` steps of each window only warm the state up.
  const int64_t warm = std::min<int64_t>(washout, window / 2);
  for (int64_t update = 0; update < m.options.updates; ++update) {
    set_lr(adam, m.options.lr * schedule->factor(update));
    auto starts = torch::randint(0, length - window, {m.options.batch}, generator, torch::kLong);
    auto offsets = torch::arange(window + 1, torch::kLong);
    auto chunks = values.index({starts.unsqueeze(1) + offsets.unsqueeze(0)});  // [B, W+1]
    auto inputs = chunks.slice(1, 0, window).unsqueeze(-1);
    auto targets = chunks.slice(1, 1, window + 1).unsqueeze(-1);
    auto [outputs, unused] = m.gru->forward(inputs);
    auto predictions = m.output(outputs);
    auto loss = torch::mse_loss(predictions.slice(1, warm), targets.slice(1, warm));
    adam.zero_grad();
    loss.backward();
    clip_and_step(adam, parameters, 1.0);
  }
  torch::NoGradGuard no_grad;
  auto inputs = values.slice(0, 0, length - 1).view({1, length - 1, 1});
  m.hidden = std::get<1>(m.gru->forward(inputs));
  m.last = series.back();
}

std::vector<double> SeriesGru::generate(int64_t steps) {
  auto& m = *impl_;
  if (!m.hidden.defined()) throw Error("series GRU: generate() before fit()");
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  auto hidden = m.hidden;
  auto previous = torch::full({1, 1, 1}, m.last);
  for (int64_t k = 0; k < steps; ++k) {
    auto [output, next] = m.gru->forward(previous, hidden);
    hidden = next;
    previous = m.output(output);  // [1, 1, 1]
    out.push_back(previous.item<double>());
  }
  return out;
}

}  // namespace seqlab
