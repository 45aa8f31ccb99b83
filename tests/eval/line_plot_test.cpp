#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>

#include "core/error.h"
#include "eval/line_plot.h"
#include "eval/raster.h"
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

TEST_CASE("picture labels are drawn in a real font and keep their accents") {
  auto plain = seqlab::render_text("a"), accented = seqlab::render_text("à");
  REQUIRE(plain.width > 0);
  REQUIRE(plain.width == accented.width);
  REQUIRE(plain.height == accented.height);
  // The grave accent adds ink above the letter: "à" is not drawn as "a" (as the old ASCII font
  // did).
  int64_t ink_plain = 0, ink_accented = 0;
  for (auto v : plain.on) ink_plain += v;
  for (auto v : accented.on) ink_accented += v;
  CHECK(ink_accented > ink_plain);
  CHECK(plain.on != accented.on);
  // Anti-aliased coverage, not an on/off bitmap.
  bool partial = false;
  for (auto v : accented.on) partial = partial || (v > 0 && v < 255);
  CHECK(partial);
  // Greek, German and SentencePiece's word marker all draw (none falls back to '?').
  auto question = seqlab::render_text("?");
  for (std::string text : {"ß", "λ", "\xe2\x96\x81"}) {
    INFO(text);
    CHECK(seqlab::render_text(text).on != question.on);
  }
}
