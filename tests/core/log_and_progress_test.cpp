#include <catch2/catch.hpp>

#include <fstream>

#include "core/log.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "tests/test_support.h"

TEST_CASE("JSON-lines records are appended with a time and read back, skipping a torn line") {
  seqlab::testing::TempDir dir;
  std::string path = dir.file("logs/metrics.jsonl");
  {
    seqlab::JsonLinesLog log(path);
    log.write({{"step", 1}, {"loss", 2.5}});
  }
  {
    seqlab::JsonLinesLog log(path);  // a resumed run appends
    log.write({{"step", 2}, {"loss", 2.0}});
  }
  std::ofstream(path, std::ios::app) << "{\"step\": 3, \"lo";  // killed mid-write
  auto records = seqlab::read_json_lines(path);
  REQUIRE(records.size() == 2);
  CHECK(records[0]["step"] == 1);
  CHECK(records[1]["loss"] == 2.0);
  CHECK(records[1].contains("time"));
}

TEST_CASE("durations format as m:ss and h:mm:ss") {
  CHECK(seqlab::Progress::format_duration(5) == "0:05");
  CHECK(seqlab::Progress::format_duration(125) == "2:05");
  CHECK(seqlab::Progress::format_duration(3725) == "1:02:05");
  CHECK(seqlab::Progress::format_duration(-1) == "?");
}

TEST_CASE("progress counts what it is given") {
  seqlab::Progress progress("test", 10, "items");
  for (int i = 0; i < 10; ++i) progress.advance();
  progress.finish();
  CHECK(progress.done() == 10);
}

TEST_CASE("work done before a resume counts in the total but not in the rate") {
  seqlab::Progress progress("test", 100000, "steps");
  progress.resume_at(90000);
  CHECK(progress.done() == 90000);
  CHECK(progress.rate() == 0.0);
  progress.advance(5);
  CHECK(progress.done() == 90005);
  CHECK(progress.rate() > 0.0);
  progress.finish();
}

TEST_CASE(
    "the time left under a deadline is computed when a line is drawn, not when the status was "
    "set") {
  seqlab::Progress progress("train", 0, "steps");
  progress.set_deadline(100);
  progress.set_status("loss 2.000");
  auto now = std::chrono::steady_clock::now();
  CHECK_THAT(progress.line(false, now),
             Catch::Contains("time left 1:40") || Catch::Contains("time left 1:39"));
  CHECK_THAT(progress.line(false, now + std::chrono::seconds(30)),
             Catch::Contains("time left 1:10") || Catch::Contains("time left 1:09"));
  CHECK_THAT(progress.line(false, now + std::chrono::seconds(300)),
             Catch::Contains("time left 0:00"));
  CHECK_THAT(progress.line(true, now), !Catch::Contains("time left"));
  CHECK_THAT(progress.line(false, now), Catch::EndsWith("loss 2.000"));
}

TEST_CASE("thread count is set from the config value, 0 meaning all cores") {
  CHECK(seqlab::configure_threads(1) == 1);
  CHECK(seqlab::configure_threads(0) >= 1);
}

TEST_CASE("the BLAS check measures a GEMM and names the library") {
  seqlab::BlasReport report = seqlab::check_blas();
  CHECK(report.gflops > 0);
  CHECK(report.slow == (report.gflops < 20.0));
}
