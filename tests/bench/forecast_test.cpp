// Mackey-Glass forecasting (bench/forecast.h): an echo-state network beats an ELM by far, and
// settings that leave nothing to fit or measure are input errors.
#include <catch2/catch.hpp>

#include "bench/forecast.h"
#include "core/error.h"
#include "data/mackey_glass.h"
#include "tests/test_support.h"

TEST_CASE("on Mackey-Glass an echo-state network forecasts far better than an ELM", "[learning]") {
  seqlab::testing::use_learning_threads();
  seqlab::ForecastOptions o;
  o.seed = seqlab::testing::learning_seed(1);
  o.models = {"esn", "elm"};
  o.trials = 3;
  o.units = 300;
  o.train_steps = 1500;
  o.washout = 300;
  o.connectivity = 0.03;
  auto rows = seqlab::run_mackey_glass(o);
  REQUIRE(rows.size() == 2);
  seqlab::testing::report_learning(
      "mackey-glass esn vs elm",
      "esn=" + std::to_string(rows[0].nrmse) + " elm=" + std::to_string(rows[1].nrmse));
  INFO("ESN NRMSE84 " << rows[0].nrmse << ", ELM " << rows[1].nrmse);
  CHECK(rows[0].nrmse < 0.05);
  CHECK(rows[1].nrmse > 10 * rows[0].nrmse);
}

TEST_CASE("forecast settings that leave nothing to fit or measure are input errors") {
  CHECK_THROWS_AS(seqlab::mackey_glass(-1, 1), seqlab::InputError);
  CHECK(seqlab::mackey_glass(5, 1).size() == 5);
  seqlab::ForecastOptions o;
  o.washout = o.train_steps;
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("--washout"));
  o = {};
  o.horizon = 0;
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("--horizon"));
  o = {};
  o.models = {"lstm"};
  CHECK_THROWS_WITH(seqlab::run_mackey_glass(o), Catch::Contains("valid: esn, elm, gru"));
}
