// Cell kinds (runner/cell_kind.h): every registered kind names its headline and validates its own
// arguments; bench and reservoir cells turn grid points into their commands' flags; and a kind
// defined in this file alone (the way a new kind is added) runs through `seqlab run`'s runner,
// the store and the report like the shipped ones.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "runner/cell.h"
#include "runner/cell_kind.h"
#include "runner/report.h"
#include "runner/runner.h"
#include "runner/spec.h"
#include "runner/store.h"
#include "tests/runner/tiny_spec.h"
#include "tests/test_support.h"

using seqlab::Json;

namespace {

// A kind whose cell is a shell printing a score: echo.score plus a hundredth of the seed.
class EchoCell : public seqlab::CellKind {
 public:
  seqlab::CellKindReport report() const override {
    seqlab::CellKindReport r;
    r.metric = "score";
    r.split = "echo";
    return r;
  }
  std::string arguments_section() const override { return "echo"; }
  std::vector<std::string> argument_keys() const override { return {"score", "seed"}; }
  Json resolve(const seqlab::ExperimentSpec& spec, const Json& overrides, uint64_t seed,
               const std::string&) const override {
    Json args = seqlab::command_arguments(*this, spec, overrides, nullptr);
    args["seed"] = seed;
    return args;
  }
  std::vector<std::string> command(const std::string&, const Json& cell, const std::string&, int,
                                   int) const override {
    const Json& args = cell.at("config");
    const double score = args.at("score").get<double>() + 0.01 * args.at("seed").get<double>();
    return {"/bin/sh", "-c", fmt::format("echo working >&2; echo '{{\"score\": {}}}'", score)};
  }
  std::string collect(const std::string& dir) const override {
    return seqlab::result_from_stdout(dir);
  }
  void import(const std::string&, const Json& result, seqlab::RunResult& out) const override {
    out.evaluations.push_back({"echo", 0, "score", "", result.at("score").get<double>(), ""});
  }
};

const bool added = seqlab::add_cell_kind<EchoCell>("echo-test", "a shell printing a score");

std::string write_json(const seqlab::testing::TempDir& dir, const std::string& name,
                       const Json& json) {
  const std::string path = dir.file(name);
  seqlab::testing::write_text(path, json.dump(2));
  return path;
}

}  // namespace

TEST_CASE("every cell kind names its headline and the keys of its own section") {
  const auto names = seqlab::cell_kind_names();
  for (const char* shipped : {"train", "bench", "reservoir"})
    CHECK(std::find(names.begin(), names.end(), shipped) != names.end());
  for (const auto& name : names) {
    INFO(name);
    const auto& kind = seqlab::cell_kind(name);
    CHECK_FALSE(kind.report().metric.empty());
    CHECK_FALSE(kind.report().split.empty());
    CHECK(kind.arguments_section().empty() == kind.argument_keys().empty());
    // Lines against length need the grid key that sets the length (one of its own arguments).
    if (kind.report().buckets == "sequence length") {
      const std::string key = kind.report().length_key;
      REQUIRE(key.rfind(kind.arguments_section() + ".", 0) == 0);
      const auto keys = kind.argument_keys();
      CHECK(std::find(keys.begin(), keys.end(), key.substr(key.find('.') + 1)) != keys.end());
    }
  }
  CHECK_THROWS_WITH(seqlab::cell_kind("benhc"),
                    Catch::Contains("unknown cell kind 'benhc'") && Catch::Contains("bench"));
}

TEST_CASE("a spec of an unknown kind, or with an unknown argument, names the valid ones") {
  seqlab::testing::TempDir dir;
  auto spec = [&](Json extra) {
    Json s = {{"name", "k"}, {"kind", "bench"}, {"bench", {{"what", "train"}}}};
    seqlab::merge_json(s, extra);
    return write_json(dir, "spec.json", s);
  };
  CHECK_THROWS_WITH(seqlab::load_spec(spec({{"kind", "reservoirs"}})),
                    Catch::Contains("unknown kind 'reservoirs'") &&
                        Catch::Contains("did you mean 'reservoir'") &&
                        Catch::Contains("bench, echo-test, reservoir, train"));
  CHECK_THROWS_WITH(seqlab::load_spec(spec({{"bench", {{"lenght", 8}}}})),
                    Catch::Contains("unknown key 'lenght'") && Catch::Contains("length"));
  auto grid = seqlab::load_spec(spec({{"grid", {{"bench.stepz", {1, 2}}}}}));
  CHECK_THROWS_WITH(seqlab::expand_cells(grid), Catch::Contains("unknown bench argument 'stepz'") &&
                                                    Catch::Contains("did you mean 'steps'"));
  // A reservoir cell takes only reservoir.* keys: it has no config to override.
  auto reservoir = seqlab::load_spec(
      write_json(dir, "reservoir.json",
                 {{"name", "r"}, {"kind", "reservoir"}, {"grid", {{"model.units", {1}}}}}));
  CHECK_THROWS_WITH(seqlab::expand_cells(reservoir), Catch::Contains("reservoir.* arguments"));
}

TEST_CASE("bench and reservoir cells become their commands' flags") {
  seqlab::testing::TempDir dir;
  SECTION("bench: bench.* are flags, other keys --set overrides") {
    auto spec = seqlab::load_spec(
        write_json(dir, "bench.json",
                   {{"name", "b"},
                    {"kind", "bench"},
                    {"bench", {{"what", "decode"}, {"model", "gru"}, {"batch_tokens", 256}}},
                    {"grid", {{"bench.length", {16, 32}}, {"model.hidden_dim", {8}}}}}));
    CHECK(spec.report_metric == "ms_per_step");
    CHECK(spec.report_split == "bench");
    auto cells = seqlab::expand_cells(spec);
    REQUIRE(cells.size() == 2);
    auto argv = seqlab::cell_command("seqlab", cells[1].to_json(), dir.path(), 3);
    const std::vector<std::string> expected = {
        "seqlab", "bench",     "decode", "--json",  "--threads", "3",     "--batch-tokens",
        "256",    "--lengths", "32",     "--model", "gru",       "--set", "model.hidden_dim=8"};
    CHECK(argv == expected);
  }
  SECTION("reservoir: the cell's seed unless the spec fixes one") {
    auto spec =
        seqlab::load_spec(write_json(dir, "reservoir.json",
                                     {{"name", "r"},
                                      {"kind", "reservoir"},
                                      {"reservoir", {{"units", 50}, {"models", {"esn", "gru"}}}},
                                      {"seeds", {4}}}));
    auto cells = seqlab::expand_cells(spec);
    REQUIRE(cells.size() == 1);
    auto argv = seqlab::cell_command("seqlab", cells[0].to_json(), dir.path(), 2);
    const std::vector<std::string> expected = {"seqlab",    "reservoir", "mackey-glass", "--json",
                                               "--threads", "2",         "--models",     "esn,gru",
                                               "--seed",    "4",         "--units",      "50"};
    CHECK(argv == expected);
  }
  SECTION("a cell.json of an unknown kind is an input error naming the file") {
    CHECK_THROWS_WITH(
        seqlab::cell_command("seqlab", {{"kind", "gizmo"}, {"config", Json::object()}}, dir.path(),
                             1),
        Catch::Contains(dir.path() + "/cell.json") && Catch::Contains("unknown cell kind 'gizmo'"));
    CHECK_THROWS_WITH(
        seqlab::cell_command("seqlab", {{"kind", 3}, {"config", Json::object()}}, dir.path(), 1),
        Catch::Contains(dir.path() + "/cell.json: kind: expected a string"));
  }
  SECTION("a command whose last line of output is not a JSON object leaves no result") {
    const Json cell = {{"kind", "bench"}, {"config", Json::object()}};
    seqlab::testing::write_text(dir.file("stdout.txt"), "{\"ms\": 1}\nnot json\n");
    CHECK_THAT(seqlab::collect_cell_result(cell, dir.path()),
               Catch::Contains("no JSON result on the last line of stdout.txt"));
    seqlab::testing::write_text(dir.file("stdout.txt"), "[1, 2]\n");
    CHECK_THAT(seqlab::collect_cell_result(cell, dir.path()), Catch::Contains("no JSON result"));
    CHECK_FALSE(std::filesystem::exists(dir.file("result.json")));
    seqlab::testing::write_text(dir.file("stdout.txt"), "progress\n{\"by_length\": []}\n");
    CHECK(seqlab::collect_cell_result(cell, dir.path()).empty());
    CHECK(seqlab::read_file(dir.file("result.json")).find("by_length") != std::string::npos);
  }
}

TEST_CASE("a kind added in one file runs through the runner, the store and the report") {
  seqlab::testing::TempDir dir;
  const std::string spec =
      write_json(dir, "echo.json",
                 {{"name", "echo"},
                  {"kind", "echo-test"},
                  {"grid", {{"echo.score", {1.0, 2.0}}}},
                  {"seeds", {1, 2, 3}},
                  {"expect",
                   {{"text", "two beats one"},
                    {"relations", {"score(echo.score=2.0) > score(echo.score=1.0)"}}}}});
  auto options = seqlab::testing::runner_options(spec, dir.file("out"));
  options.executable = "unused";
  auto summary = seqlab::run_experiment(options);
  CHECK(summary.finished == 6);
  CHECK(summary.failed == 0);
  seqlab::ResultStore store(options.out_dir + "/results.sqlite");
  for (const auto& run : store.runs("echo")) {
    INFO(run.cell << " seed " << run.seed);
    CHECK(run.kind == "echo-test");
    auto evaluations = store.evaluations(run.id);
    REQUIRE(evaluations.size() == 1);
    CHECK(evaluations[0].value ==
          Approx(run.overrides["echo.score"].get<double>() + 0.01 * double(run.seed)));
  }
  auto paths = seqlab::write_report(options.out_dir);
  REQUIRE(paths.verdicts.size() == 1);
  CHECK(paths.verdicts[0]["outcome"] == "reproduced");
  CHECK_THAT(seqlab::read_file(paths.markdown), Catch::Contains("score (echo)"));
  auto results = seqlab::results_json(options.out_dir);
  REQUIRE(results["runs"].size() == 6);
  CHECK(results["runs"][0]["metric"] == "score");
}
