// Ridge regression by streaming sums, for reservoir readouts (Lukosevicius 2012, section 4.1):
// rows (x, y) are added in batches to float64 sums of x x^T, y x^T, x, y and y^2, so memory is
// O(F^2 + F*O) however many rows stream past, and states may arrive in float32. X^T X is a
// symmetric rank-k update (BLAS dsyrk: half the work of a general product, in float64) of the
// rows with a 1 appended, so the same update also sums x and counts rows; the float64 copy of a
// batch goes into a buffer kept between batches (a fresh allocation per batch costs more than
// the copy).
//
// The solution centres features and targets, so the bias is not penalised (as scikit-learn's
// Ridge with fit_intercept): W = (C + lambda n I)^-1 C_xy, b = mean_y - W mean_x, with C the
// centred Gram matrix. The penalty is per row (lambda n), so a value means the same for a small
// and a large corpus. One eigendecomposition of C serves every penalty of a grid.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace seqlab {

struct RidgeSolution;

class RidgeAccumulator {
 public:
  RidgeAccumulator(int64_t features, int64_t outputs);

  // x [N, F]; y [N, O] real targets.
  void add(const torch::Tensor& x, const torch::Tensor& y);
  // x [N, F]; classes [N] int64 in [0, O): one-hot targets without building them.
  void add_classes(const torch::Tensor& x, const torch::Tensor& classes);

  int64_t features() const { return features_; }
  int64_t outputs() const { return outputs_; }
  double rows() const;

  // The sums by name, for checkpoints (the fitter resumes mid-pass), and back.
  std::map<std::string, torch::Tensor> tensors() const;
  void load(const std::map<std::string, torch::Tensor>& tensors);

 private:
  friend class RidgeSolver;
  friend double ridge_mean_squared_error(const RidgeSolution&, const RidgeAccumulator&);
  // Copies x into the float64 buffer with a column of ones, adds its Gram matrix; returns the
  // buffer's first F columns.
  torch::Tensor add_gram(const torch::Tensor& x);
  torch::Tensor gram() const;   // [F, F] symmetric
  torch::Tensor x_sum() const;  // [F]
  int64_t features_, outputs_;
  torch::Tensor xx_;  // [F + 1, F + 1], upper triangle: x x^T, x (last column), rows (corner)
  torch::Tensor yx_;  // [O, F]
  torch::Tensor y_sum_, y_square_sum_;  // [O], [1]
  torch::Tensor buffer_;                // [N, F + 1] float64 scratch
};

struct RidgeSolution {
  torch::Tensor weight;  // [O, F] float64
  torch::Tensor bias;    // [O] float64
  double penalty = 0;
  torch::Tensor predict(const torch::Tensor& x) const;  // [N, F] -> [N, O] (x's dtype)
};

// One decomposition, then solve() for any penalty. Both forms reduce the centred problem to a
// basis B and per-direction factors: W^T = B diag(a / (d + lambda n)) P.
//   From sums (the streaming fitter): eigendecomposition C = Q diag(e) Q^T of the centred Gram
//   matrix; B = Q, P = Q^T C_xy, a = 1, d = e.
//   From the data itself (small enough to hold, such as a time series' states): SVD of the centred
//   X = U diag(s) V^T; B = V, P = U^T Y_c, a = s, d = s^2. Its condition number is the square root
//   of the Gram matrix's, so tiny penalties (1e-14 per row and below, where free-running
//   forecasts live) stay accurate.
// Directions with no variance and no penalty get weight zero, not infinity.
class RidgeSolver {
 public:
  explicit RidgeSolver(const RidgeAccumulator& train);
  RidgeSolver(const torch::Tensor& x, const torch::Tensor& y);  // [N, F], [N, O]
  RidgeSolution solve(double penalty) const;

 private:
  double rows_;
  torch::Tensor basis_, projected_;        // B [F, K], P [K, O]
  torch::Tensor numerator_, denominator_;  // a, d [K]
  torch::Tensor x_mean_, y_mean_;
};

// Mean squared error per output of `solution` on the rows summed in `data`, from the sums alone.
double ridge_mean_squared_error(const RidgeSolution& solution, const RidgeAccumulator& data);

// Penalties log-spaced from `low` to `high` (both included), `points` of them; {low} when 1.
std::vector<double> ridge_grid(double low, double high, int64_t points);

}  // namespace seqlab
