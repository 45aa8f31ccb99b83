#include "train/ridge.h"

#include <cmath>

#include <cblas.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace seqlab {

RidgeAccumulator::RidgeAccumulator(int64_t features, int64_t outputs)
    : features_(features), outputs_(outputs) {
  auto f64 = torch::dtype(torch::kFloat64);
  xx_ = torch::zeros({features, features}, f64);
  yx_ = torch::zeros({outputs, features}, f64);
  x_sum_ = torch::zeros({features}, f64);
  y_sum_ = torch::zeros({outputs}, f64);
  y_square_sum_ = torch::zeros({1}, f64);
  rows_ = torch::zeros({1}, f64);
}

void RidgeAccumulator::add_gram(const torch::Tensor& x64) {
  if (xx_.device() != x64.device()) {
    for (auto* t : {&xx_, &yx_, &x_sum_, &y_sum_, &y_square_sum_, &rows_}) *t = t->to(x64.device());
  }
  if (x64.is_cpu()) {
    // Row-major x [N, F]: xx (upper) += x^T x.
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(features_),
                static_cast<int>(x64.size(0)), 1.0, x64.data_ptr<double>(),
                static_cast<int>(features_), 1.0, xx_.data_ptr<double>(),
                static_cast<int>(features_));
  } else {
    xx_.addmm_(x64.t(), x64);
  }
  x_sum_ += x64.sum(0);
  rows_ += double(x64.size(0));
}

void RidgeAccumulator::add(const torch::Tensor& x, const torch::Tensor& y) {
  if (x.dim() != 2 || x.size(1) != features_ || y.dim() != 2 || y.size(1) != outputs_ ||
      y.size(0) != x.size(0))
    throw InputError(fmt::format("ridge rows: expected x [N, {}] and y [N, {}], got [{}] and [{}]",
                                 features_, outputs_, fmt::join(x.sizes(), ", "),
                                 fmt::join(y.sizes(), ", ")));
  torch::NoGradGuard no_grad;
  auto x64 = x.detach().to(torch::kFloat64).contiguous();
  auto y64 = y.detach().to(x64.device(), torch::kFloat64);
  add_gram(x64);
  yx_.addmm_(y64.t(), x64);
  y_sum_ += y64.sum(0);
  y_square_sum_ += y64.square().sum();
}

void RidgeAccumulator::add_classes(const torch::Tensor& x, const torch::Tensor& classes) {
  if (x.dim() != 2 || x.size(1) != features_ || classes.dim() != 1 || classes.size(0) != x.size(0))
    throw InputError(fmt::format("ridge rows: expected x [N, {}] and classes [N], got [{}] and [{}]",
                                 features_, fmt::join(x.sizes(), ", "),
                                 fmt::join(classes.sizes(), ", ")));
  torch::NoGradGuard no_grad;
  auto x64 = x.detach().to(torch::kFloat64).contiguous();
  auto c = classes.to(x64.device(), torch::kLong);
  add_gram(x64);
  yx_.index_add_(0, c, x64);
  y_sum_.index_add_(0, c, torch::ones({c.size(0)}, x64.options()));
  y_square_sum_ += double(c.size(0));
}

std::map<std::string, torch::Tensor> RidgeAccumulator::tensors() const {
  return {{"xx", xx_}, {"yx", yx_}, {"x_sum", x_sum_}, {"y_sum", y_sum_},
          {"y_square_sum", y_square_sum_}, {"rows", rows_}};
}

void RidgeAccumulator::load(const std::map<std::string, torch::Tensor>& tensors) {
  auto take = [&](const char* name, torch::Tensor& into) {
    auto it = tensors.find(name);
    if (it == tensors.end() || !it->second.sizes().equals(into.sizes()))
      throw InputError(fmt::format("ridge accumulator '{}' missing or of the wrong shape", name));
    into = it->second.to(torch::kFloat64).clone();
  };
  take("xx", xx_);
  take("yx", yx_);
  take("x_sum", x_sum_);
  take("y_sum", y_sum_);
  take("y_square_sum", y_square_sum_);
  take("rows", rows_);
}

namespace {
torch::Tensor symmetric(const torch::Tensor& upper) {
  return upper.triu() + upper.triu(1).t();
}
}  // namespace

RidgeSolver::RidgeSolver(const RidgeAccumulator& train) {
  torch::NoGradGuard no_grad;
  rows_ = train.rows();
  if (rows_ < 1) throw InputError("ridge fit over no rows (the data gave no states to fit)");
  x_mean_ = train.x_sum_ / rows_;
  y_mean_ = train.y_sum_ / rows_;
  auto gram = symmetric(train.xx_) - rows_ * torch::outer(x_mean_, x_mean_);  // centred
  auto cross = train.yx_.t() - rows_ * torch::outer(x_mean_, y_mean_);          // [F, O]
  auto [values, vectors] = torch::linalg::eigh(gram, "U");
  eigenvalues_ = values.clamp_min(0);  // rounding can leave tiny negatives
  eigenvectors_ = vectors;
  projected_ = torch::mm(vectors.t(), cross);
}

RidgeSolution RidgeSolver::solve(double penalty) const {
  torch::NoGradGuard no_grad;
  auto shrink = 1.0 / (eigenvalues_ + penalty * rows_);
  // Directions with no variance and no penalty: leave their weight at zero, not infinity.
  shrink = torch::where(torch::isfinite(shrink), shrink, torch::zeros_like(shrink));
  auto weight_t = torch::mm(eigenvectors_, projected_ * shrink.unsqueeze(1));  // [F, O]
  RidgeSolution solution;
  solution.weight = weight_t.t().contiguous();
  solution.bias = y_mean_ - torch::mv(solution.weight, x_mean_);
  solution.penalty = penalty;
  return solution;
}

torch::Tensor RidgeSolution::predict(const torch::Tensor& x) const {
  return torch::addmm(bias.to(x.options()), x, weight.to(x.options()).t());
}

double ridge_mean_squared_error(const RidgeSolution& s, const RidgeAccumulator& data) {
  torch::NoGradGuard no_grad;
  double n = data.rows();
  if (n < 1) return 0;
  auto w = s.weight.to(data.xx_.device());
  auto b = s.bias.to(data.xx_.device());
  // sum ||y - W x - b||^2 from the sums: y.y - 2 (W.yx + b.y_sum) + tr(W XX W^T) + 2 b.(W x_sum) + n b.b
  auto xx = symmetric(data.xx_);
  double sse = data.y_square_sum_.item<double>() -
               2 * ((w * data.yx_).sum().item<double>() + b.dot(data.y_sum_).item<double>()) +
               (torch::mm(w, xx) * w).sum().item<double>() +
               2 * b.dot(torch::mv(w, data.x_sum_)).item<double>() + n * b.dot(b).item<double>();
  return std::max(0.0, sse) / (n * double(data.outputs()));
}

std::vector<double> ridge_grid(double low, double high, int64_t points) {
  if (points <= 1 || low == high) return {low};
  std::vector<double> grid;
  double a = std::log10(low), b = std::log10(high);
  for (int64_t i = 0; i < points; ++i) grid.push_back(std::pow(10.0, a + (b - a) * double(i) / double(points - 1)));
  return grid;
}

}  // namespace seqlab
