// The experiment runner (runner/runner.h): a grid killed with SIGKILL at random moments completes
// with the same rows as an uninterrupted one, adaptive seeds grow only undecided relations and
// resume after kill -9, a spec edited after cells ran is refused, and the report renders in a
// headless browser.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/random.h"
#include "runner/report.h"
#include "runner/runner.h"
#include "runner/spec.h"
#include "runner/store.h"
#include "seqlab_paths.h"
#include "tests/runner/tiny_spec.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using seqlab::Json;

using seqlab::testing::write_base_config;
using seqlab::testing::write_spec;

namespace {

const std::string kSeqlab = std::string(SEQLAB_BINARY_DIR) + "/bin/seqlab";

pid_t spawn_run(const std::string& spec, const std::string& out, bool resume) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    if (resume)
      execl(kSeqlab.c_str(), "seqlab", "run", spec.c_str(), "--out", out.c_str(), "--jobs", "2",
            "--threads", "2", "--resume", static_cast<char*>(nullptr));
    else
      execl(kSeqlab.c_str(), "seqlab", "run", spec.c_str(), "--out", out.c_str(), "--jobs", "2",
            "--threads", "2", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int exit_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Everything the store holds that does not depend on timing: per run its cell, seed, status,
// steps and parameters, its evaluations, and its logged losses and BLEU by step.
std::map<std::string, Json> store_rows(const std::string& dir) {
  seqlab::ResultStore store(dir + "/results.sqlite");
  std::map<std::string, Json> out;
  for (const auto& r : store.runs()) {
    Json row = {{"status", r.status}, {"steps", r.steps}, {"parameters", r.parameters}};
    for (const auto& e : store.evaluations(r.id))
      if (e.metric != "sentences_per_s")
        row["evaluations"].push_back({e.split, e.beam, e.metric, e.bucket, e.value});
    for (const auto& m : store.metrics(r.id))
      if (m.name == "loss" || m.name == "bleu" || m.name == "lr")
        row["metrics"].push_back({m.step, m.split, m.name, m.value});
      else
        row["timing"].push_back({m.step, m.split, m.name});
    out[fmt::format("{}/{}/seed-{}", r.spec, r.cell, r.seed)] = row;
  }
  return out;
}

}  // namespace

TEST_CASE("a grid killed at random moments completes with the same rows as an uninterrupted run") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string spec = write_spec(dir, write_base_config(dir, corpus));
  std::string straight = dir.file("straight"), killed = dir.file("killed");
  REQUIRE(exit_status(spawn_run(spec, straight, false)) == 0);

  seqlab::Rng rng(11);
  int kills = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    pid_t pid = spawn_run(spec, killed, attempt > 0);
    auto delay = std::chrono::milliseconds(300 + rng.below(2500));
    auto until = std::chrono::steady_clock::now() + delay;
    int status = -1;
    while (std::chrono::steady_clock::now() < until) {
      int raw = 0;
      if (waitpid(pid, &raw, WNOHANG) == pid) {
        status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (status >= 0) break;  // it finished before the kill
    kill(pid, SIGKILL);
    exit_status(pid);
    ++kills;
    // Its children die with it.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  INFO("killed " << kills << " times");
  CHECK(kills >= 1);
  REQUIRE(exit_status(spawn_run(spec, killed, true)) == 0);

  auto a = store_rows(straight), b = store_rows(killed);
  REQUIRE(a.size() == 4);
  CHECK(a == b);
  for (const auto& [id, row] : b) {
    INFO(id);
    CHECK(row["status"] == "finished");
    CHECK(row["steps"] == 40);
  }
  // The metrics logs hold each step once, and one end record.
  for (const auto& entry : fs::recursive_directory_iterator(killed + "/runs")) {
    if (entry.path().filename() != "metrics.jsonl") continue;
    std::set<std::pair<std::string, int64_t>> seen;
    int ends = 0, starts = 0;
    for (const auto& record : seqlab::read_json_lines(entry.path().string())) {
      if (record["event"] == "end") ++ends;
      if (record["event"] == "start") ++starts;
      if (!record.contains("step")) continue;
      INFO(entry.path().string() << ": " << record.dump());
      CHECK(
          seen.insert({record["event"].get<std::string>(), record["step"].get<int64_t>()}).second);
    }
    CHECK(ends == 1);
    CHECK(starts == 1);
  }
  // A finished grid run again changes nothing.
  REQUIRE(exit_status(spawn_run(spec, killed, true)) == 0);
  CHECK(store_rows(killed) == b);
}

TEST_CASE(
    "adaptive seeds: more seeds only for undecided relations, up to the maximum, resumable after "
    "kill -9") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  const std::string base = write_base_config(dir, corpus);
  auto seeds_by_cell = [](const std::string& out) {
    seqlab::ResultStore store(out + "/results.sqlite");
    std::map<std::string, std::set<uint64_t>> seeds;
    for (const auto& r : store.runs()) {
      CHECK(r.status == "finished");
      seeds[r.cell].insert(r.seed);
    }
    return seeds;
  };
  const std::set<uint64_t> first_two = {1, 2}, three = {1, 2, 3};
  SECTION("a relation decided by the first seeds adds none") {
    // Attention has more parameters on every seed: no spread, decided at once.
    auto spec = write_spec(dir, base,
                           {{"seeds", {{"min", 2}, {"max", 3}}},
                            {"expect",
                             {{"relations",
                               {"parameters(model.decoder=bahdanau) > "
                                "parameters(model.decoder=rnn)"}}}}});
    auto options = seqlab::testing::runner_options(spec, dir.file("decided"));
    auto summary = seqlab::run_experiment(options);
    CHECK(summary.undecided == 0);
    CHECK(summary.added_seeds == 0);
    auto seeds = seeds_by_cell(options.out_dir);
    CHECK(seeds["decoder=rnn"] == first_two);
    CHECK(seeds["decoder=bahdanau"] == first_two);
  }
  SECTION("an undecided relation grows its cells to the maximum, also across a kill") {
    // Both cells train the same 40 steps: the difference is exactly 0 and never above the margin.
    auto spec = write_spec(dir, base,
                           {{"seeds", {{"min", 2}, {"max", 3}}},
                            {"expect",
                             {{"relations",
                               {"steps(model.decoder=bahdanau) > "
                                "steps(model.decoder=rnn)"}}}}});
    const std::string straight = dir.file("straight"), killed = dir.file("killed");
    auto options = seqlab::testing::runner_options(spec, straight);
    auto summary = seqlab::run_experiment(options);
    CHECK(summary.undecided == 1);
    CHECK(summary.added_seeds == 2);
    auto seeds = seeds_by_cell(straight);
    CHECK(seeds["decoder=rnn"] == three);
    CHECK(seeds["decoder=bahdanau"] == three);
    // Killed once a third seed is under way, then resumed: the same runs.
    pid_t pid = spawn_run(spec, killed, false);
    bool third = false;
    for (int i = 0; i < 3000 && !third; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      third = fs::exists(killed + "/runs/tiny/decoder=rnn/seed-3/cell.json") ||
              fs::exists(killed + "/runs/tiny/decoder=bahdanau/seed-3/cell.json");
    }
    REQUIRE(third);
    kill(pid, SIGKILL);
    exit_status(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE(exit_status(spawn_run(spec, killed, true)) == 0);
    CHECK(store_rows(killed) == store_rows(straight));
  }
  SECTION("bad adaptive seeds are refused") {
    CHECK_THROWS_WITH(
        seqlab::load_spec(write_spec(dir, base, {{"seeds", {{"min", 3}, {"max", 2}}}})),
        Catch::Contains("seeds.max") && Catch::Contains("below seeds.min 3"));
    CHECK_THROWS_WITH(seqlab::load_spec(write_spec(dir, base, {{"seeds", {{"most", 3}}}})),
                      Catch::Contains("seeds.most") && Catch::Contains("valid: min, max, minutes"));
  }
}

TEST_CASE(
    "a spec edited after its cells ran is refused unless they start afresh, and reports render") {
  seqlab::testing::TempDir dir;
  std::string corpus = seqlab::testing::write_reverse_corpus(dir);
  std::string base = write_base_config(dir, corpus);
  std::string spec = write_spec(dir, base);
  std::string out = dir.file("out");
  auto options = seqlab::testing::runner_options(spec, out);
  options.progress = true;
  auto summary = seqlab::run_experiment(options);
  CHECK(summary.finished == 4);
  CHECK(summary.failed == 0);

  SECTION("running again without --resume is refused") {
    CHECK_THROWS_WITH(seqlab::run_experiment(options), Catch::Contains("--resume"));
  }
  SECTION("an edit is refused naming the key, then restarts only the changed cells") {
    write_spec(dir, base, {{"set", {{"train.lr", 0.01}}}, {"seeds", {1, 2}}});
    options.resume = true;
    CHECK_THROWS_WITH(seqlab::run_experiment(options),
                      Catch::Contains("set.train.lr") && Catch::Contains("--restart-changed"));
    options.restart_changed = true;
    auto again = seqlab::run_experiment(options);
    CHECK(again.finished == 4);
    write_spec(dir, base, {{"set", {{"train.lr", 0.01}}}, {"seeds", {1, 2, 3}}});
    options.restart_changed = false;
    auto more = seqlab::run_experiment(options);  // a new seed is a new cell, not a change
    CHECK(more.finished == 2);
    CHECK(more.skipped == 4);
  }
  SECTION(
      "a store naming a cell outside --out stops --restart-changed before anything is deleted") {
    const std::string victim = dir.file("victim/seed-1");
    seqlab::testing::write_text(victim + "/keep.txt", "precious");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((out + "/results.sqlite").c_str(), &db) == SQLITE_OK);
    REQUIRE(
        sqlite3_exec(
            db,
            "UPDATE runs SET cell = '../../../victim', dir = '../../../victim/seed-1' WHERE id = 1",
            nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    options.resume = true;
    options.restart_changed = true;
    CHECK_THROWS_WITH(seqlab::run_experiment(options), Catch::Contains("is not a plain name"));
    CHECK(seqlab::read_file(victim + "/keep.txt") == "precious");
    CHECK(fs::exists(out + "/runs/tiny"));
  }
  SECTION("results and the report, opened in headless chromium") {
    auto results = seqlab::results_json(out);
    REQUIRE(results["runs"].size() == 4);
    CHECK(results["runs"][0]["value"].is_number());
    auto paths = seqlab::write_report(out);
    std::string md = seqlab::read_file(paths.markdown);
    CHECK_THAT(
        md, Catch::Contains("attention helps") && Catch::Contains("bleu(model.decoder=bahdanau)"));
    REQUIRE(paths.verdicts.size() == 1);
    CHECK(paths.verdicts[0]["verdict"].get<std::string>().size() > 0);
    // Bars, learning curves, BLEU by length and the attention maps of the two Bahdanau... the
    // attention cell only (the rnn decoder has none).
    CHECK(paths.figures >= 4);
    std::string dom = dir.file("dom.html");
    int status =
        seqlab::run_program({"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                             "--virtual-time-budget=5000", "--dump-dom", "file://" + paths.html},
                            dom);
    REQUIRE(status == 0);
    std::string text = seqlab::read_file(dom);
    CHECK_THAT(text,
               Catch::Contains(fmt::format("data-figures=\"{} shown, 0 broken\"", paths.figures)));
  }
}
