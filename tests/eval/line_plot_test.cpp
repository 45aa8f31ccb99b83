#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>

#include "core/error.h"
#include "eval/line_plot.h"
#include "tests/test_support.h"

TEST_CASE("a line plot is written as a PNG, and series it cannot draw are input errors") {
  seqlab::testing::TempDir dir;
  seqlab::PlotSeries a{"a", {0, 1, 2}, {0.5, 1.5, 0.25}, {200, 30, 30}};
  seqlab::PlotSeries b{"b", {0, 2}, {1.0, std::numeric_limits<double>::quiet_NaN()}, {30, 30, 200}};
  const std::string path = dir.file("plot.png");
  seqlab::write_line_plot_png(path, "title", "x", "y", {a, b});
  CHECK(std::filesystem::file_size(path) > 100);

  seqlab::PlotSeries uneven{"uneven", {0, 1}, {1.0}};
  CHECK_THROWS_WITH(seqlab::write_line_plot_png(dir.file("u.png"), "t", "x", "y", {uneven}),
                    Catch::Contains("series 'uneven' has 2 x and 1 y values"));
  seqlab::PlotSeries empty{"nan", {0}, {std::numeric_limits<double>::quiet_NaN()}};
  CHECK_THROWS_AS(seqlab::write_line_plot_png(dir.file("e.png"), "t", "x", "y", {empty}),
                  seqlab::InputError);
  CHECK_FALSE(std::filesystem::exists(dir.file("e.png")));
}
