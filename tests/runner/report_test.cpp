// Reports from results stores someone else may have written: text from a spec or a store reaches
// gnuplot only as quoted data (never as commands), Markdown carries no raw HTML, names from the
// store never become paths outside the report folder, and a damaged row is an error naming the
// store.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "eval/significance.h"
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
  // A kind no cell kind registered, or not a name at all.
  execute(dir.file("results.sqlite"), "UPDATE specs SET spec = '{\"kind\": \"gizmo\"}'");
  CHECK_THROWS_WITH(
      seqlab::write_report(dir.path()),
      Contains("results.sqlite: spec 's': unknown cell kind 'gizmo'") && Contains("train"));
  CHECK_THROWS_WITH(seqlab::results_json(dir.path()), Contains("unknown cell kind 'gizmo'"));
  execute(dir.file("results.sqlite"), "UPDATE specs SET spec = '{\"kind\": 5}'");
  CHECK_THROWS_WITH(seqlab::write_report(dir.path()),
                    Contains("results.sqlite: spec 's': kind: expected a string"));
}

namespace {

// A spec "v" with runs of two cells ("a" and "b"), one per score, BLEU on test stored in the
// store; with `items`, each run also keeps item statistics: `correct` of 200 items right
// (accuracy-like BLEU is not needed: the relation's metric is accuracy). Seeds run on from a's
// runs into b's (nothing shared), or with `same_seeds` start again at 1 for b (paired).
void write_relation_store(const std::string& dir, const std::vector<double>& a,
                          const std::vector<double>& b, bool items, bool same_seeds = false) {
  seqlab::ResultStore store(dir + "/results.sqlite");
  store.put_spec("v",
                 Json{{"name", "v"},
                      {"kind", "train"},
                      {"expect",
                       {{"text", "a beats b"},
                        {"relations", {"accuracy(model.decoder=a) > accuracy(model.decoder=b)"}}}},
                      {"report", {{"metric", "accuracy"}, {"split", "test"}}}},
                 "");
  uint64_t seed = 1;
  for (auto [cell, scores] : {std::pair<std::string, std::vector<double>>{"a", a}, {"b", b}}) {
    if (same_seeds) seed = 1;
    for (double score : scores) {
      const std::string run_dir = fmt::format("{}/runs/v/{}/seed-{}", dir, cell, seed);
      fs::create_directories(run_dir);
      const int64_t run = store.ensure_run("v", cell, seed, "train", Json{{"model.decoder", cell}},
                                           Json::object(), run_dir);
      seqlab::RunResult result;
      result.evaluations = {{"test", 1, "accuracy", "", score, "sig"}};
      store.finish_run(run, result);
      if (items) {
        // 200 items, round(score * 2) of them right, spread by the seed.
        seqlab::ItemStatisticsFile file;
        file.items = 200;
        file.references_sha256 = "same";
        const auto right = static_cast<size_t>(std::lround(score * 2));
        for (size_t i = 0; i < 200; ++i)
          file.metrics["accuracy"].push_back({(i * 7 + seed) % 200 < right ? 1.0 : 0.0, 1.0});
        seqlab::write_item_statistics(seqlab::item_statistics_path(run_dir, "test", 1), file);
      }
      ++seed;
    }
  }
}

seqlab::Verdict verdict_of(const std::string& dir, const std::string& relation,
                           bool with_items = true) {
  seqlab::ResultStore store(dir + "/results.sqlite");
  return seqlab::check_relation(seqlab::parse_relation(relation), "test", store, "v",
                                with_items ? dir : "");
}

}  // namespace

TEST_CASE("verdicts come from an interval over seeds, not from the means") {
  seqlab::testing::TempDir dir;
  // Tight seeds, a clear difference.
  write_relation_store(dir.path(), {80.0, 81.0, 80.5}, {60.0, 61.0, 60.5}, false);
  auto v = verdict_of(dir.path(), "accuracy(model.decoder=a) > accuracy(model.decoder=b)", false);
  CHECK(v.outcome == seqlab::Outcome::kReproduced);
  CHECK(v.verdict == "reproduced");
  CHECK(v.low > 18.0);
  CHECK(v.high < 22.0);
  CHECK_THAT(v.explanation,
             Contains("95% interval") && Contains("3 + 3 seeds") && Contains("seeds only"));
  CHECK(verdict_of(dir.path(), "accuracy(model.decoder=a) < accuracy(model.decoder=b)", false)
            .outcome == seqlab::Outcome::kRefuted);
  // A margin larger than the whole interval refutes "by at least 25".
  CHECK(verdict_of(dir.path(), "accuracy(model.decoder=a) > accuracy(model.decoder=b) by 25", false)
            .outcome == seqlab::Outcome::kRefuted);
  // Equivalence is refuted: the interval lies wholly outside +-2.
  CHECK(verdict_of(dir.path(), "accuracy(model.decoder=a) ~= accuracy(model.decoder=b) within 2",
                   false)
            .outcome == seqlab::Outcome::kRefuted);
}

TEST_CASE("cells run on the same seeds are compared seed by seed") {
  // The seeds spread both cells by 20 points alike; a is ahead of b by about 0.5 on every seed.
  const std::vector<double> a = {70.4, 80.6, 90.5}, b = {70.0, 80.0, 90.0};
  seqlab::testing::TempDir paired_dir, apart_dir;
  write_relation_store(paired_dir.path(), a, b, false, true);
  write_relation_store(apart_dir.path(), a, b, false, false);
  const std::string relation = "accuracy(model.decoder=a) > accuracy(model.decoder=b)";
  auto paired = verdict_of(paired_dir.path(), relation, false);
  CHECK(paired.comparison.paired);
  CHECK(paired.outcome == seqlab::Outcome::kReproduced);
  CHECK(paired.low > 0.0);
  CHECK_THAT(paired.explanation, Contains("3 seeds paired"));
  // The same scores on seeds 1-3 against 4-6 share nothing: the spread stays in, undecided.
  auto apart = verdict_of(apart_dir.path(), relation, false);
  CHECK_FALSE(apart.comparison.paired);
  CHECK(apart.outcome == seqlab::Outcome::kInconclusive);
  CHECK_THAT(apart.explanation, Contains("3 + 3 seeds"));
  auto paths = seqlab::write_report(paired_dir.path());
  REQUIRE(paths.verdicts.size() == 1);
  CHECK(paths.verdicts[0]["paired"] == true);
  // A fourth seed on one side (a cell that another relation gave more seeds) has no partner: the
  // comparison stays paired over the three shared seeds, and says what it left out.
  seqlab::testing::TempDir extra_dir;
  write_relation_store(extra_dir.path(), a, {70.0, 80.0, 90.0, 60.0}, false, true);
  auto extra = verdict_of(extra_dir.path(), relation, false);
  CHECK(extra.comparison.paired);
  CHECK(extra.outcome == seqlab::Outcome::kReproduced);
  CHECK(extra.comparison.difference == Approx(paired.comparison.difference));
  CHECK_THAT(extra.explanation, Contains("3 seeds paired (1 run without a partner seed left out)"));
}

TEST_CASE("equivalence is reproduced only when the whole interval lies inside the tolerance") {
  SECTION("tight spreads, close means") {
    seqlab::testing::TempDir dir;
    write_relation_store(dir.path(), {70.0, 70.2, 69.9, 70.1}, {70.3, 70.1, 70.4, 70.0}, false);
    auto v = verdict_of(dir.path(),
                        "accuracy(model.decoder=a) ~= accuracy(model.decoder=b) within 1", false);
    CHECK(v.outcome == seqlab::Outcome::kReproduced);
    CHECK_THAT(v.explanation, Contains("two one-sided tests"));
  }
  SECTION("wide spreads with equal means: inconclusive, not reproduced by the means alone") {
    // The case the old rule called reproduced: spreads of 3 and 10 points, means 0.3 apart.
    seqlab::testing::TempDir dir;
    write_relation_store(dir.path(), {67.0, 70.0, 73.0}, {60.0, 70.0, 80.9}, false);
    auto v = verdict_of(dir.path(),
                        "accuracy(model.decoder=a) ~= accuracy(model.decoder=b) within 1", false);
    CHECK(std::abs(v.comparison.difference) < 1.0);
    CHECK(v.outcome == seqlab::Outcome::kInconclusive);
  }
  SECTION("one seed a side is never decided") {
    seqlab::testing::TempDir dir;
    write_relation_store(dir.path(), {90.0}, {10.0}, false);
    auto v = verdict_of(dir.path(), "accuracy(model.decoder=a) > accuracy(model.decoder=b)", false);
    CHECK(v.outcome == seqlab::Outcome::kInconclusive);
    CHECK_THAT(v.explanation, Contains("one seed on a side"));
  }
}

TEST_CASE(
    "the test set's sampling error widens a verdict's interval where runs kept item statistics") {
  seqlab::testing::TempDir dir;
  // Identical scores over seeds (no seed spread), 3 points apart on 200 items: the test set alone
  // cannot tell them apart (the standard error of the difference is about 4.5 points).
  write_relation_store(dir.path(), {60.0, 60.0, 60.0}, {57.0, 57.0, 57.0}, true);
  auto seeds_only =
      verdict_of(dir.path(), "accuracy(model.decoder=a) > accuracy(model.decoder=b)", false);
  CHECK(seeds_only.outcome == seqlab::Outcome::kReproduced);  // what ignoring the test set says
  auto both = verdict_of(dir.path(), "accuracy(model.decoder=a) > accuracy(model.decoder=b)");
  CHECK(both.comparison.items == 200);
  CHECK(both.comparison.dominant_noise() == "test items");
  CHECK(both.outcome == seqlab::Outcome::kInconclusive);
  CHECK(both.low < 0.0);
  CHECK_THAT(both.explanation,
             Contains("200 test items") && Contains("noise mostly from test items"));
  // The report carries the interval and the noise source.
  auto paths = seqlab::write_report(dir.path());
  REQUIRE(paths.verdicts.size() == 1);
  CHECK(paths.verdicts[0]["verdict"] == "inconclusive at this size");
  CHECK(paths.verdicts[0]["interval"].size() == 2);
  CHECK(paths.verdicts[0]["dominant_noise"] == "test items");
  CHECK(paths.verdicts[0]["items"] == 200);
  CHECK_THAT(seqlab::read_file(paths.markdown), Contains("95% interval"));
}
