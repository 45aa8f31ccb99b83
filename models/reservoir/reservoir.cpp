#include "models/reservoir/reservoir.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_int("model.reservoir.units", 500, "reservoir size N").range(1, 100000)) &&
    schema().add(
        key_number("model.reservoir.input_scaling", 1.0, "input weights uniform in [-s, s]")
            .range(0, 1e6)) &&
    schema().add(
        key_number("model.reservoir.input_connectivity", 1.0, "share of nonzero input weights")
            .above(0, 1)) &&
    schema().add(key_number("model.reservoir.spectral_radius", 0.9,
                            "largest absolute eigenvalue of the recurrent matrix")
                     .above(0, 100)) &&
    schema().add(
        key_number("model.reservoir.connectivity", 0.1, "share of nonzero recurrent weights")
            .above(0, 1)) &&
    schema().add(
        key_number("model.reservoir.leak", 1.0, "leak rate a: x = (1-a) x + a f(...); 1 = no leak")
            .above(0, 1)) &&
    schema().add(
        key_number("model.reservoir.bias_scaling", 0.1, "bias uniform in [-s, s]").range(0, 1e6)) &&
    schema().add(key_number("model.reservoir.noise", 0.0,
                            "state noise uniform in [-s, s] while fitting (train mode only)")
                     .range(0, 10)) &&
    schema().add(key_string("model.reservoir.activation", "tanh", "reservoir unit nonlinearity")
                     .one_of({"tanh", "identity"})) &&
    schema().add(
        key_int("model.reservoir.seed", 0,
                "seed of the random matrices; 0: run.seed, so a run's seed replicates the "
                "reservoir as it does a network's initial weights (set it to hold the matrices "
                "fixed across runs)")
            .range(0, 4e18));

}  // namespace

ReservoirOptions ReservoirOptions::from_config(const Config& config) {
  ReservoirOptions o;
  o.units = config.get_int("model.reservoir.units");
  o.input_scaling = config.get_number("model.reservoir.input_scaling");
  o.input_connectivity = config.get_number("model.reservoir.input_connectivity");
  o.spectral_radius = config.get_number("model.reservoir.spectral_radius");
  o.connectivity = config.get_number("model.reservoir.connectivity");
  o.leak = config.get_number("model.reservoir.leak");
  o.bias_scaling = config.get_number("model.reservoir.bias_scaling");
  o.noise = config.get_number("model.reservoir.noise");
  o.activation = config.get_string("model.reservoir.activation");
  const int64_t seed = config.get_int("model.reservoir.seed");
  o.seed = static_cast<uint64_t>(seed > 0 ? seed : config.get_int("run.seed"));
  return o;
}

ReservoirImpl::ReservoirImpl(const ReservoirOptions& options, int64_t feedback_dim)
    : options_(options), generator_(at::detail::createCPUGenerator(options.seed)) {
  // The same checks as the config schema, for callers that build options in code.
  auto check = [](bool ok, const std::string& key, double value, const char* accepted) {
    if (!ok)
      throw InputError(
          fmt::format("model.reservoir.{} = {}: expected a number in {}", key, value, accepted));
  };
  check(options.leak > 0 && options.leak <= 1, "leak", options.leak, "(0, 1]");
  check(options.spectral_radius > 0, "spectral_radius", options.spectral_radius, "(0, 100]");
  check(options.connectivity > 0 && options.connectivity <= 1, "connectivity", options.connectivity,
        "(0, 1]");
  check(options.input_connectivity > 0 && options.input_connectivity <= 1, "input_connectivity",
        options.input_connectivity, "(0, 1]");
  check(options.units > 0, "units", double(options.units), "[1, 100000]");
  const int64_t n = options.units;
  torch::NoGradGuard no_grad;
  if (options.recurrent) {
    auto w = random_matrix(n, n, 1.0, options.connectivity);
    double rho = spectral_radius(w);
    if (!(rho > 1e-9))
      throw InputError(fmt::format(
          "model.reservoir.connectivity = {} leaves the {}-unit recurrent matrix without cycles "
          "(spectral radius 0), so it cannot be rescaled to model.reservoir.spectral_radius; raise "
          "connectivity (to a few / units or more) or model.reservoir.seed",
          options.connectivity, n));
    w.mul_(options.spectral_radius / rho);
    recurrent_ = register_buffer("recurrent", w.to(options.dtype));
  }
  bias_ = register_buffer(
      "bias", (random_matrix(1, n, 1.0, 1.0).view({n}) * options.bias_scaling).to(options.dtype));
  if (feedback_dim > 0)
    feedback_ = register_buffer(
        "feedback",
        random_matrix(n, feedback_dim, options.feedback_scaling, 1.0).to(options.dtype));
}

torch::Tensor ReservoirImpl::random_matrix(int64_t rows, int64_t cols, double scale,
                                           double density) {
  auto values =
      torch::rand({rows, cols}, generator_, torch::dtype(torch::kFloat64)) * (2 * scale) - scale;
  if (density < 1)
    values.mul_(torch::rand({rows, cols}, generator_, torch::dtype(torch::kFloat64)) < density);
  return values;
}

torch::Tensor ReservoirImpl::token_inputs(int64_t vocab) {
  auto table =
      random_matrix(vocab, options_.units, options_.input_scaling, options_.input_connectivity);
  table[0].zero_();  // padding drives nothing
  return table.to(torch::kFloat32);
}

torch::Tensor ReservoirImpl::step(const torch::Tensor& state, const torch::Tensor& drive,
                                  const torch::Tensor& feedback) {
  auto pre = drive + bias_;
  if (recurrent_.defined()) pre = pre + recurrent_product(state);
  if (feedback_.defined() && feedback.defined()) pre = torch::addmm(pre, feedback, feedback_.t());
  if (is_training() && options_.noise > 0)
    pre = pre + (torch::rand_like(pre) * 2 - 1) * options_.noise;
  auto next = options_.activation == "tanh" ? torch::tanh(pre) : pre;
  if (options_.leak < 1) next = state + options_.leak * (next - state);
  return next;
}

torch::Tensor ReservoirImpl::recurrent_product(const torch::Tensor& state) {
  const bool one_row = state.size(0) == 1 && options_.connectivity < 0.1;
  const bool sparse_batch = state.size(0) > 1 && options_.connectivity <= 0.01;
  if (!recurrent_.is_cpu() || state.requires_grad() || !(one_row || sparse_batch))
    return torch::mm(state, recurrent_.t());
  if (!sparse_.defined() || sparse_source_ != recurrent_.data_ptr() ||
      sparse_version_ != int64_t(recurrent_._version()) || sparse_.dtype() != recurrent_.dtype()) {
    sparse_ = recurrent_.detach().to_sparse().coalesce();
    rows_ = sparse_.indices()[0].contiguous();
    cols_ = sparse_.indices()[1].contiguous();
    values_ = sparse_.values().contiguous();
    sparse_source_ = recurrent_.data_ptr();
    sparse_version_ = int64_t(recurrent_._version());
  }
  if (one_row)  // (W x)_i = sum over nonzeros (i, j) of W_ij x_j
    return torch::zeros({state.size(1)}, state.options())
        .index_add_(0, rows_, state.view({-1}).index_select(0, cols_) * values_)
        .unsqueeze(0);
  return torch::mm(sparse_, state.t()).t();  // (W x^T)^T
}

torch::Tensor ReservoirImpl::run(const torch::Tensor& drive, const torch::Tensor& mask,
                                 const torch::Tensor& initial) {
  const int64_t batch = drive.size(0), steps = drive.size(1), n = options_.units;
  if (drive.size(2) != n)
    throw InputError(
        fmt::format("reservoir drive has width {}, expected {} units", drive.size(2), n));
  if (!recurrent_.defined() && options_.leak == 1) {  // ELM: every position on its own
    auto states = step({}, drive);  // no state enters a step without recurrence or leak
    return mask.defined() ? states * mask.unsqueeze(-1).to(states.dtype()) : states;
  }
  // unbind and stack rather than select and copy into slices: with gradients (a trained encoder
  // under the reservoir) each of those steps' backward would write a full [B, T, N] tensor.
  auto drives = drive.unbind(1);
  std::vector<torch::Tensor> states;
  states.reserve(static_cast<size_t>(steps));
  auto x = initial.defined() ? initial : torch::zeros({batch, n}, drive.options());
  for (int64_t t = 0; t < steps; ++t) {
    auto next = step(x, drives[static_cast<size_t>(t)]);
    x = mask.defined() ? torch::where(mask.select(1, t).unsqueeze(1), next, x) : next;
    states.push_back(x);
  }
  if (states.empty()) return torch::empty({batch, 0, n}, drive.options());
  return torch::stack(states, 1);
}

double spectral_radius(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  auto w = matrix.detach().to(torch::kCPU, torch::kFloat64);
  if (w.dim() != 2 || w.size(0) != w.size(1))
    throw InputError(fmt::format("spectral radius of a {} matrix: expected a square matrix",
                                 fmt::join(w.sizes(), "x")));
  if (w.size(0) <= 3000) return torch::linalg::eigvals(w).abs().max().item<double>();
  return spectral_radius_by_powers(w);
}

double spectral_radius_by_powers(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  auto w = matrix.detach().to(torch::kCPU, torch::kFloat64);
  // Gelfand: W^(2^k) = exp(log_scale) * a, renormalised before every squaring. The estimate
  // exceeds rho by a factor C^(1/2^k) (C from the eigenvectors' conditioning), so successive
  // estimates close in geometrically; stop when they agree to 1e-5, or after 2^24 powers.
  double log_scale = 0, previous = -1;
  auto a = w;
  for (int k = 1; k <= 24; ++k) {
    double norm = a.norm().item<double>();
    if (norm == 0) return 0;
    a = a / norm;
    log_scale = 2 * (log_scale + std::log(norm));
    a = torch::mm(a, a);
    double after = a.norm().item<double>();
    if (after == 0) return 0;
    double estimate = std::exp((log_scale + std::log(after)) / std::ldexp(1.0, k));
    if (k >= 8 && std::abs(estimate - previous) <= 1e-5 * estimate) return estimate;
    previous = estimate;
  }
  return previous;
}

}  // namespace seqlab
