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
  xx_ = torch::zeros({features + 1, features + 1}, f64);
  yx_ = torch::zeros({outputs, features}, f64);
  y_sum_ = torch::zeros({outputs}, f64);
  y_square_sum_ = torch::zeros({1}, f64);
}

double RidgeAccumulator::rows() const { return xx_[features_][features_].item<double>(); }

torch::Tensor RidgeAccumulator::add_gram(const torch::Tensor& x) {
  if (xx_.device() != x.device())
    for (auto* t : {&xx_, &yx_, &y_sum_, &y_square_sum_}) *t = t->to(x.device());
  const int64_t n = x.size(0), f = features_;
  if (!buffer_.defined() || buffer_.size(0) < n || buffer_.device() != x.device())
    buffer_ = torch::empty({n, f + 1}, x.options().dtype(torch::kFloat64));
  auto rows = buffer_.narrow(0, 0, n);
  rows.narrow(1, 0, f).copy_(x);
  rows.select(1, f).fill_(1.0);
  if (x.is_cpu()) {
    // Row-major rows [n, f + 1]: xx (upper) += rows^T rows.
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(f + 1), static_cast<int>(n),
                1.0, rows.data_ptr<double>(), static_cast<int>(f + 1), 1.0, xx_.data_ptr<double>(),
                static_cast<int>(f + 1));
  } else {
    xx_.addmm_(rows.t(), rows);
  }
  return rows.narrow(1, 0, f);
}

void RidgeAccumulator::add(const torch::Tensor& x, const torch::Tensor& y) {
  if (x.dim() != 2 || x.size(1) != features_ || y.dim() != 2 || y.size(1) != outputs_ ||
      y.size(0) != x.size(0))
    throw InputError(fmt::format("ridge rows: expected x [N, {}] and y [N, {}], got [{}] and [{}]",
                                 features_, outputs_, fmt::join(x.sizes(), ", "),
                                 fmt::join(y.sizes(), ", ")));
  torch::NoGradGuard no_grad;
  auto x64 = add_gram(x.detach());
  auto y64 = y.detach().to(x64.device(), torch::kFloat64);
  yx_.addmm_(y64.t(), x64);
  y_sum_ += y64.sum(0);
  y_square_sum_ += y64.square().sum();
}

void RidgeAccumulator::add_classes(const torch::Tensor& x, const torch::Tensor& classes) {
  if (x.dim() != 2 || x.size(1) != features_ || classes.dim() != 1 || classes.size(0) != x.size(0))
    throw InputError(
        fmt::format("ridge rows: expected x [N, {}] and classes [N], got [{}] and [{}]", features_,
                    fmt::join(x.sizes(), ", "), fmt::join(classes.sizes(), ", ")));
  torch::NoGradGuard no_grad;
  auto x64 = add_gram(x.detach());
  auto c = classes.to(x64.device(), torch::kLong);
  yx_.index_add_(0, c, x64);
  y_sum_.index_add_(0, c, torch::ones({c.size(0)}, x64.options()));
  y_square_sum_ += double(c.size(0));
}

std::map<std::string, torch::Tensor> RidgeAccumulator::tensors() const {
  return {{"xx", xx_}, {"yx", yx_}, {"y_sum", y_sum_}, {"y_square_sum", y_square_sum_}};
}

void RidgeAccumulator::load(const std::map<std::string, torch::Tensor>& tensors) {
  auto take = [&](const char* name, torch::Tensor& into) {
    auto it = tensors.find(name);
    if (it == tensors.end() || !it->second.sizes().equals(into.sizes()))
      throw InputError(fmt::format("ridge accumulator '{}' missing or of the wrong shape", name));
    into = it->second.to(into.device(), torch::kFloat64).clone();
  };
  take("xx", xx_);
  take("yx", yx_);
  take("y_sum", y_sum_);
  take("y_square_sum", y_square_sum_);
}

namespace {
torch::Tensor symmetric(const torch::Tensor& upper) { return upper.triu() + upper.triu(1).t(); }
}  // namespace

torch::Tensor RidgeAccumulator::gram() const {
  return symmetric(xx_.narrow(0, 0, features_).narrow(1, 0, features_));
}

torch::Tensor RidgeAccumulator::x_sum() const {
  return xx_.narrow(0, 0, features_).select(1, features_);
}

RidgeSolver::RidgeSolver(const RidgeAccumulator& train) {
  torch::NoGradGuard no_grad;
  rows_ = train.rows();
  if (rows_ < 1) throw InputError("ridge fit over no rows (the data gave no states to fit)");
  x_mean_ = train.x_sum() / rows_;
  y_mean_ = train.y_sum_ / rows_;
  auto gram = train.gram() - rows_ * torch::outer(x_mean_, x_mean_);    // centred
  auto cross = train.yx_.t() - rows_ * torch::outer(x_mean_, y_mean_);  // [F, O]
  auto [values, vectors] = torch::linalg::eigh(gram, "U");
  basis_ = vectors;
  projected_ = torch::mm(vectors.t(), cross);
  denominator_ = values.clamp_min(0);  // rounding can leave tiny negatives
  numerator_ = torch::ones_like(denominator_);
}

RidgeSolver::RidgeSolver(const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  auto x64 = x.to(torch::kFloat64), y64 = y.to(torch::kFloat64);
  rows_ = double(x64.size(0));
  if (rows_ < 1) throw InputError("ridge fit over no rows");
  x_mean_ = x64.mean(0);
  y_mean_ = y64.mean(0);
  auto [u, s, vh] = torch::linalg::svd(x64 - x_mean_, /*full_matrices=*/false, {});
  basis_ = vh.t();
  projected_ = torch::mm(u.t(), y64 - y_mean_);
  numerator_ = s;
  denominator_ = s.square();
}

RidgeSolution RidgeSolver::solve(double penalty) const {
  torch::NoGradGuard no_grad;
  auto shrink = numerator_ / (denominator_ + penalty * rows_);
  shrink = torch::where(torch::isfinite(shrink), shrink, torch::zeros_like(shrink));
  RidgeSolution solution;
  solution.weight = torch::mm(basis_, projected_ * shrink.unsqueeze(1)).t().contiguous();  // [O, F]
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
  // sum ||y - W x - b||^2 from the sums: y.y - 2 (W.yx + b.y_sum) + tr(W XX W^T) + 2 b.(W x_sum) +
  // n b.b
  auto xx = data.gram();
  double sse = data.y_square_sum_.item<double>() -
               2 * ((w * data.yx_).sum().item<double>() + b.dot(data.y_sum_).item<double>()) +
               (torch::mm(w, xx) * w).sum().item<double>() +
               2 * b.dot(torch::mv(w, data.x_sum())).item<double>() + n * b.dot(b).item<double>();
  return std::max(0.0, sse) / (n * double(data.outputs()));
}

std::vector<double> ridge_grid(double low, double high, int64_t points) {
  if (points <= 1 || low == high) return {low};
  std::vector<double> grid;
  double a = std::log10(low), b = std::log10(high);
  for (int64_t i = 0; i < points; ++i)
    grid.push_back(std::pow(10.0, a + (b - a) * double(i) / double(points - 1)));
  return grid;
}

}  // namespace seqlab
