// The ridge readout (train/ridge.h): streamed sums give the direct least-squares solution, with
// and without a penalty, from class targets and from the data's SVD; bad rows are input errors.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/error.h"
#include "train/ridge.h"

TEST_CASE("streamed ridge sums give the direct least-squares solution") {
  torch::manual_seed(5);
  const int64_t n = 600, f = 24, o = 3;
  auto x = torch::randn({n, f}, torch::kFloat64) + 0.5;
  auto y = torch::mm(x, torch::randn({f, o}, torch::kFloat64)) + 2.0 +
           0.1 * torch::randn({n, o}, torch::kFloat64);
  seqlab::RidgeAccumulator sums(f, o);
  for (int64_t start = 0; start < n; start += 64)
    sums.add(x.slice(0, start, std::min(n, start + 64)).to(torch::kFloat32),
             y.slice(0, start, std::min(n, start + 64)));
  seqlab::RidgeSolver solver(sums);
  auto x32 = x.to(torch::kFloat32).to(torch::kFloat64);  // what the sums saw
  SECTION("no penalty: ordinary least squares with an intercept") {
    auto design = torch::cat({x32, torch::ones({n, 1}, torch::kFloat64)}, 1);
    auto direct = std::get<0>(torch::linalg::lstsq(design, y, {}, {}));  // [F + 1, O]
    auto solution = solver.solve(0.0);
    CHECK(torch::allclose(solution.weight.t(), direct.slice(0, 0, f), 1e-7, 1e-9));
    CHECK(torch::allclose(solution.bias, direct[f], 1e-7, 1e-9));
  }
  SECTION("a penalty: the normal equations of the centred problem, bias unpenalised") {
    const double penalty = 0.05;
    auto xc = x32 - x32.mean(0), yc = y - y.mean(0);
    auto direct =
        torch::linalg::solve(torch::mm(xc.t(), xc) + penalty * n * torch::eye(f, torch::kFloat64),
                             torch::mm(xc.t(), yc), true);
    auto solution = solver.solve(penalty);
    CHECK(torch::allclose(solution.weight.t(), direct, 1e-8, 1e-10));
    auto predicted = solution.predict(x32);
    CHECK(predicted.mean(0).sub(y.mean(0)).abs().max().item<double>() < 1e-9);
    // The error computed from sums equals the error of the predictions.
    double mse = (predicted - y).square().mean().item<double>();
    CHECK(seqlab::ridge_mean_squared_error(solution, sums) == Approx(mse).epsilon(1e-6));
  }
  SECTION("class targets without one-hot rows equal explicit one-hot targets") {
    auto classes = torch::randint(0, o, {n}, torch::kLong);
    seqlab::RidgeAccumulator by_class(f, o), one_hot(f, o);
    by_class.add_classes(x, classes);
    one_hot.add(x, torch::one_hot(classes, o).to(torch::kFloat64));
    auto a = seqlab::RidgeSolver(by_class).solve(1e-3),
         b = seqlab::RidgeSolver(one_hot).solve(1e-3);
    CHECK(torch::allclose(a.weight, b.weight, 1e-10, 1e-12));
    CHECK(torch::allclose(a.bias, b.bias, 1e-10, 1e-12));
  }
  SECTION(
      "the SVD of the data gives the same solution, and stays accurate where the Gram matrix "
      "cannot") {
    seqlab::RidgeSolver direct(x32, y);
    for (double penalty : {0.0, 1e-3}) {
      auto a = direct.solve(penalty), b = solver.solve(penalty);
      CHECK(torch::allclose(a.weight, b.weight, 1e-7, 1e-9));
      CHECK(torch::allclose(a.bias, b.bias, 1e-7, 1e-9));
    }
    // Nearly collinear columns (condition number ~1e7, squared ~1e14 in the Gram matrix): the
    // data solve recovers the generating weights, the normal equations lose digits.
    auto base = torch::randn({n, 1}, torch::kFloat64);
    auto close = torch::cat({base, base + 1e-7 * torch::randn({n, 1}, torch::kFloat64),
                             torch::randn({n, 2}, torch::kFloat64)},
                            1);
    auto truth = torch::tensor({{1.0}, {-2.0}, {0.5}, {3.0}}, torch::kFloat64);
    auto target = torch::mm(close, truth);
    auto from_data = seqlab::RidgeSolver(close, target).solve(0.0);
    CHECK(torch::allclose(from_data.weight.t(), truth, 1e-5, 1e-5));
  }
  SECTION("sums that do not match their rows are an input error") {
    CHECK_THROWS_AS(sums.add(torch::randn({4, f + 1}), torch::randn({4, o})), seqlab::InputError);
  }
}

TEST_CASE("ridge sums refuse rows of the wrong shape, empty fits and foreign checkpoints") {
  seqlab::RidgeAccumulator sums(4, 3);
  CHECK_THROWS_WITH(sums.add_classes(torch::zeros({2, 5}), torch::zeros({2}, torch::kLong)),
                    Catch::Contains("expected x [N, 4] and classes [N]"));
  CHECK_THROWS_WITH(sums.add(torch::zeros({2, 4}), torch::zeros({3, 3})),
                    Catch::Contains("expected x [N, 4] and y [N, 3]"));
  CHECK_THROWS_WITH(seqlab::RidgeSolver(sums), Catch::Contains("no rows"));
  CHECK_THROWS_WITH(seqlab::RidgeSolver(torch::zeros({0, 4}), torch::zeros({0, 3})),
                    Catch::Contains("no rows"));
  auto tensors = sums.tensors();
  tensors.erase("yx");
  CHECK_THROWS_WITH(sums.load(tensors), Catch::Contains("'yx' missing"));
  tensors = seqlab::RidgeAccumulator(5, 3).tensors();
  CHECK_THROWS_WITH(sums.load(tensors), Catch::Contains("wrong shape"));
}
