// Series predictors (train/series.h): the ESN with output feedback and the GRU refuse to generate
// before they are fitted and fits that leave nothing to learn.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/series.h"

TEST_CASE("series models refuse to generate before fitting and fits without enough steps") {
  seqlab::SeriesReservoirOptions r;
  r.reservoir.units = 20;
  r.reservoir.spectral_radius = 0.8;
  r.reservoir.connectivity = 0.2;
  r.reservoir.seed = 7;
  seqlab::SeriesReservoir esn(r);
  CHECK_THROWS_AS(esn.generate(3), seqlab::Error);
  CHECK_THROWS_WITH(esn.fit({0.1, 0.2, 0.3}, 3), Catch::Contains("washout"));
  seqlab::SeriesGru gru({});
  CHECK_THROWS_AS(gru.generate(3), seqlab::Error);
  CHECK_THROWS_WITH(gru.fit({0.1}, 0), Catch::Contains("at least 2 steps"));
}

TEST_CASE("an echo-state network with output feedback continues a sine wave", "[learning]") {
  std::vector<double> series;
  for (int n = 0; n < 1200; ++n) series.push_back(std::sin(0.2 * n));
  seqlab::SeriesReservoirOptions r;
  r.reservoir.units = 100;
  r.reservoir.spectral_radius = 0.8;
  r.reservoir.connectivity = 0.1;
  r.reservoir.seed = 3;
  r.validation = 200;
  seqlab::SeriesReservoir esn(r);
  esn.fit(series, 100);
  CHECK(esn.penalty() > 0);  // chosen from the grid by free-run error
  auto next = esn.generate(60);
  REQUIRE(next.size() == 60);
  double worst = 0;
  for (int i = 0; i < 60; ++i)
    worst = std::max(worst, std::abs(next[i] - std::sin(0.2 * (1200 + i))));
  INFO("largest error over 60 free-running steps: " << worst);
  CHECK(worst < 0.05);
}
