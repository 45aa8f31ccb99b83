// Reports from results stores someone else may have written: text from a spec or a store reaches
// gnuplot only as quoted data (never as commands), Markdown carries no raw HTML, names from the
// store never become paths outside the report folder, and a damaged row is an error naming the
// store.
#include <catch2/catch.hpp>

#include <filesystem>

#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "runner/report.h"
#include "runner/runner.h"
#include "runner/store.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using seqlab::Json;

namespace {

// A store with one finished run of a train spec, whose title and cell name are `text`.
void write_store(const std::string& dir, const std::string& text) {
  seqlab::ResultStore store(dir + "/results.sqlite");
  Json spec = {{"name", "s"},
               {"title", text},
               {"kind", "train"},
               {"description", text},
               {"expect", {{"text", text}, {"relations", Json::array()}}}};
  store.put_spec("s", spec, "");
  const int64_t run = store.ensure_run("s", text, 1, "train", Json{{"model.decoder", text}},
                                       Json::object(), dir + "/runs/s/x/seed-1");
  seqlab::RunResult result;
  result.steps = 10;
  result.metrics = {{10, "valid", "loss", 2.5}, {20, "valid", "loss", 2.0}};
  result.evaluations = {{"test", 1, "bleu", "", 12.5, "sig"},
                        {"test", 1, "bleu", "1-10", 14.0, "sig"},
                        {"test", 1, "bleu", "11-20", 9.0, "sig"}};
  store.finish_run(run, result);
}

void execute(const std::string& store, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(store.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("text from a spec or store reaches gnuplot as data, never as a command") {
  seqlab::testing::TempDir dir;
  const std::string marker = dir.file("pwned");
  // Backquotes run a shell command inside gnuplot's double-quoted strings; the newline and "EOD"
  // would end a datablock and start commands; @ expands a macro outside quotes.
  write_store(dir.path(),
              "t `touch " + marker + "` \" ' \\\nEOD\nsystem('touch " + marker + "') @GPVAL_PWD");
  auto paths = seqlab::write_report(dir.path());
  CHECK_FALSE(fs::exists(marker));
  CHECK(paths.figures == 3);  // the bars, the curves and the buckets were still drawn
}

TEST_CASE("report.md carries no raw HTML from a spec or store") {
  seqlab::testing::TempDir dir;
  write_store(dir.path(), "<script>alert(1)</script><img src=x onerror=alert(2)>");
  auto paths = seqlab::write_report(dir.path());
  const std::string md = seqlab::read_file(paths.markdown), html = seqlab::read_file(paths.html);
  CHECK(md.find("<script>") == std::string::npos);
  CHECK(md.find("<img src=x") == std::string::npos);
  CHECK(md.find("&lt;script&gt;") != std::string::npos);
  CHECK(html.find("<script>alert") == std::string::npos);
}

TEST_CASE("names in a store never become paths outside the report folder") {
  seqlab::testing::TempDir dir;
  write_store(dir.path(), "../../outside");
  // A store that points a run's folder anywhere: its attention map is not read from there.
  seqlab::testing::TempDir elsewhere;
  fs::create_directories(elsewhere.file("attention"));
  seqlab::testing::write_text(elsewhere.file("attention/test-001.png"), "not read");
  execute(dir.file("results.sqlite"), "UPDATE runs SET dir = '" + elsewhere.path() + "'");
  execute(dir.file("results.sqlite"),
          "UPDATE specs SET name = '../../escape'; UPDATE runs SET spec = '../../escape'");
  seqlab::write_report(dir.path());
  for (const auto& entry : fs::recursive_directory_iterator(dir.path()))
    CHECK(seqlab::lies_inside(entry.path().string(), dir.path()));
  CHECK_FALSE(fs::exists(dir.file("../escape-bars.png")));
  CHECK_FALSE(fs::exists(fs::path(dir.path()).parent_path().parent_path() / "escape-bars.png"));
  for (const auto& entry : fs::directory_iterator(dir.file("report")))
    CHECK(entry.path().filename().string().find("attention") == std::string::npos);
}

TEST_CASE("a store row that is not JSON is an input error naming the store and the row") {
  seqlab::testing::TempDir dir;
  write_store(dir.path(), "fine");
  execute(dir.file("results.sqlite"), "UPDATE runs SET overrides = '{not json'");
  CHECK_THROWS_AS(seqlab::write_report(dir.path()), seqlab::InputError);
  CHECK_THROWS_WITH(seqlab::write_report(dir.path()),
                    Contains("results.sqlite: run 1 column overrides: not valid JSON"));
  execute(dir.file("results.sqlite"), "UPDATE runs SET overrides = '[1]'");
  CHECK_THROWS_WITH(seqlab::write_report(dir.path()),
                    Contains("run 1 column overrides: expected a JSON object"));
  execute(dir.file("results.sqlite"),
          "UPDATE runs SET overrides = '{}'; UPDATE specs SET spec = 'x'");
  CHECK_THROWS_WITH(seqlab::write_report(dir.path()),
                    Contains("results.sqlite: spec 's': not valid JSON"));
}
