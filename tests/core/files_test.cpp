#include <catch2/catch.hpp>

#include <cstdlib>
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

TEST_CASE("plain names are one path component that cannot climb out of a folder") {
  for (const char* good : {"tiny", "lstm,heads=4", "a.b_c-d+e", "seed-1",
                           "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb"})
    CHECK(seqlab::is_plain_name(good));
  for (const char* bad :
       {"", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "x\n", "a\\b", "~", "~root"})
    CHECK_FALSE(seqlab::is_plain_name(bad));
  CHECK_FALSE(seqlab::is_plain_name(std::string(201, 'a')));
}

TEST_CASE("lies_inside resolves dots and symbolic links before it compares") {
  seqlab::testing::TempDir dir, other;
  fs::create_directories(dir.file("a/b"));
  fs::create_directory_symlink(other.path(), dir.file("a/out"));
  CHECK(seqlab::lies_inside(dir.file("a/b/c.png"), dir.path()));
  CHECK(seqlab::lies_inside(dir.path(), dir.path()));
  CHECK_FALSE(seqlab::lies_inside(dir.file("a/../../x"), dir.path()));
  CHECK_FALSE(seqlab::lies_inside(dir.file("a/out/x"), dir.path()));
  CHECK_FALSE(seqlab::lies_inside("/etc/passwd", dir.path()));
  CHECK_FALSE(seqlab::lies_inside(dir.path() + "-sibling/x", dir.path()));
}

TEST_CASE("the data cache is private to its user: mode 0700, never a shared or linked folder") {
  seqlab::testing::TempDir dir;
  const char* old_data = std::getenv("SEQLAB_DATA");
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old_data ? old_data : "", saved_xdg = old_xdg ? old_xdg : "";
  unsetenv("SEQLAB_DATA");
  setenv("XDG_CACHE_HOME", dir.path().c_str(), 1);
  const std::string cache = seqlab::data_cache_dir();
  CHECK(cache == dir.file("seqlab"));
  CHECK((fs::status(cache).permissions() & fs::perms::all) == fs::perms::owner_all);
  fs::permissions(cache, fs::perms::all);  // someone opened it up: it is closed again
  seqlab::data_cache_dir();
  CHECK((fs::status(cache).permissions() & fs::perms::all) == fs::perms::owner_all);
  fs::remove_all(cache);
  seqlab::testing::TempDir elsewhere;
  fs::create_directory_symlink(elsewhere.path(), cache);  // a link planted where the cache goes
  CHECK_THROWS_WITH(seqlab::data_cache_dir(), Catch::Contains("not a directory"));
  unsetenv("XDG_CACHE_HOME");
  if (old_data) setenv("SEQLAB_DATA", saved.c_str(), 1);
  if (old_xdg) setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
}
