#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {
size_t entries_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("an atomic write replaces the file and leaves no temporary behind") {
  seqlab::testing::TempDir dir;
  std::string path = dir.file("out.txt");
  seqlab::write_file_atomic(path, "first");
  seqlab::write_file_atomic(path, "second");
  CHECK(seqlab::read_file(path) == "second");
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("a failed atomic write keeps the old file intact") {
  seqlab::testing::TempDir dir;
  std::string path = dir.file("out.txt");
  seqlab::write_file_atomic(path, "good");
  CHECK_THROWS(seqlab::write_atomic_with(path, [](const std::string& tmp) {
    seqlab::write_file_atomic(tmp, "half");
    throw seqlab::Error("interrupted");
  }));
  CHECK(seqlab::read_file(path) == "good");
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("a staging directory appears whole on commit and vanishes otherwise") {
  seqlab::testing::TempDir dir;
  std::string final_path = dir.file("corpus");
  {
    seqlab::StagingDirectory staging(final_path);
    seqlab::write_file_atomic(staging.path() + "/train.tsv", "a\tb\n");
    CHECK_FALSE(fs::exists(final_path));
  }  // destroyed without commit: an interrupted build
  CHECK_FALSE(fs::exists(final_path));
  CHECK(entries_in(dir.path()) == 0);
  {
    seqlab::StagingDirectory staging(final_path);
    seqlab::write_file_atomic(staging.path() + "/train.tsv", "x\ty\n");
    staging.commit();
  }
  CHECK(seqlab::read_file(final_path + "/train.tsv") == "x\ty\n");
  {
    seqlab::StagingDirectory staging(final_path);  // a rebuild replaces the old version
    seqlab::write_file_atomic(staging.path() + "/valid.tsv", "v\tw\n");
    staging.commit();
  }
  CHECK_FALSE(fs::exists(final_path + "/train.tsv"));
  CHECK(fs::exists(final_path + "/valid.tsv"));
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("reading a missing file names it") {
  CHECK_THROWS_WITH(seqlab::read_file("/nonexistent/seqlab.txt"),
                    Catch::Matchers::Contains("/nonexistent/seqlab.txt"));
}
