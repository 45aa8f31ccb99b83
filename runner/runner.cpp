#include "runner/runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "data/recipe.h"
#include "runner/cell.h"
#include "runner/cell_kind.h"
#include "runner/report.h"
#include "runner/spec.h"
#include "runner/store.h"
#include "train/launch.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

// An exclusive lock on DIR/.lock for the life of the runner.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir) {
    const std::string path = dir + "/.lock";
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot create " + path);
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0)
      throw InputError(
          fmt::format("another `seqlab run` is working in {} (it holds {})", dir, path));
  }
  ~DirectoryLock() { close(fd_); }

 private:
  int fd_ = -1;
};

std::string last_lines(const std::string& path, size_t count) {
  if (!fs::exists(path)) return "";
  auto lines = read_lines(path);
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

// The last line a cell's progress wrote to its log (progress redraws with '\r'), trimmed.
std::string last_progress(const std::string& log) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 400);
  in.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  std::string line;
  size_t end = tail.find_last_not_of("\r\n ");
  if (end == std::string::npos) return "";
  size_t start = tail.find_last_of("\r\n", end);
  line = tail.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
  // Keep it short: the bar's characters are not needed.
  std::string out;
  for (unsigned char c : line)
    if (c >= 32 && c < 127) out += static_cast<char>(c);
  return out.size() > 70 ? out.substr(0, 70) : out;
}

// Corpora the train cells name that are recipes not yet in the data cache are prepared first, one
// at a time, so that cells never race to build the same corpus.
void prepare_corpora(const std::vector<Cell>& cells) {
  std::set<std::string> done;
  for (const auto& cell : cells)
    for (const std::string& corpus : cell_kind(cell.kind).corpora(cell.config)) {
      if (!done.insert(corpus).second || fs::is_directory(corpus)) continue;
      if (fs::exists(fs::path(data_cache_dir()) / corpus / "meta.json")) continue;
      log_info(fmt::format("preparing corpus {} into {}", corpus, data_cache_dir()));
      prepare_corpus(corpus);
    }
}

struct Job {
  const Cell* cell;
  int64_t run;
  std::string dir;
  std::unique_ptr<BackgroundProcess> process;
};

bool import_result(ResultStore& store, const Job& job, int64_t max_rss_kib) {
  const std::string result_path = job.dir + "/result.json";
  if (!fs::exists(result_path)) return false;
  Json parsed = Json::parse(read_file(result_path), nullptr, false);
  if (parsed.is_discarded()) return false;
  store.finish_run(job.run, read_cell_result(job.cell->to_json(), job.dir, max_rss_kib));
  return true;
}

}  // namespace

Json RunnerSummary::to_json() const {
  Json out = {{"spec", spec},       {"cells", cells},   {"finished", finished},
              {"skipped", skipped}, {"failed", failed}, {"seconds", seconds}};
  if (undecided >= 0) out["added_seeds"] = added_seeds, out["undecided"] = undecided;
  return out;
}

std::string current_executable() { return self_executable(); }

namespace {

// One round of adaptive seeds: for every relation still undecided, the next seed of the cells
// with the fewest seeds (stored runs, whatever their status) on each of its sides, cheapest cells
// (by mean training time of their finished runs) first.
struct SeedRound {
  std::vector<const Cell*> cells;
  int64_t undecided = 0;
};

SeedRound next_seed_round(const ExperimentSpec& spec, const std::vector<Cell>& all_cells,
                          const ResultStore& store, const std::string& out) {
  std::map<std::string, std::set<uint64_t>> seeds_of;
  std::map<std::string, std::pair<double, int64_t>> cost_of;  // training seconds, finished runs
  for (const auto& row : store.runs(spec.name)) {
    seeds_of[row.cell].insert(row.seed);
    if (row.status == "finished")
      cost_of[row.cell].first += row.train_seconds, ++cost_of[row.cell].second;
  }
  SeedRound round;
  std::set<std::string> chosen;
  for (const auto& relation : spec.relations) {
    if (check_relation(relation, spec.report_split, store, spec.name, out).outcome !=
        Outcome::kInconclusive)
      continue;
    ++round.undecided;
    for (const Json* side : {&relation.left, &relation.right}) {
      size_t fewest = std::numeric_limits<size_t>::max();
      for (const auto& c : all_cells)
        if (matches(c.overrides, *side)) fewest = std::min(fewest, seeds_of[c.name].size());
      // all_cells holds each cell's seeds in order: its first seed without a run is the next.
      for (const auto& c : all_cells)
        if (matches(c.overrides, *side) && seeds_of[c.name].size() == fewest &&
            !seeds_of[c.name].count(c.seed) && chosen.insert(c.name).second)
          round.cells.push_back(&c);
    }
  }
  auto cost = [&](const Cell* c) {
    const auto& [seconds, runs] = cost_of[c->name];
    return runs ? seconds / double(runs) : 0.0;
  };
  std::stable_sort(round.cells.begin(), round.cells.end(),
                   [&](const Cell* a, const Cell* b) { return cost(a) < cost(b); });
  return round;
}

// A cell's process has exited: its result collected and imported (finished), or the run marked
// failed with the exit status, the reason and the end of its log. True when it finished.
bool conclude(ResultStore& store, const Job& job, const BackgroundProcess::Exit& exit) {
  bool ok = exit.status == 0;
  std::string error;
  if (ok) {
    error = collect_cell_result(job.cell->to_json(), job.dir);
    ok = error.empty();
  }
  if (ok) {
    try {
      ok = import_result(store, job, exit.max_rss_kib);
      if (!ok) error = "the cell exited without writing result.json\n";
    } catch (const std::exception& e) {
      ok = false;
      error = std::string(e.what()) + "\n";
    }
  }
  if (ok) return true;
  error =
      fmt::format("exit status {}\n{}{}", exit.status, error, last_lines(job.dir + "/log.txt", 15));
  store.mark_failed(job.run, error);
  log_warning(fmt::format("cell {} failed ({}/log.txt):\n{}", job.cell->id(), job.dir, error));
  return false;
}

// A stored run's folder, derived from its (checked) cell name rather than read from the store:
// a results.sqlite someone sent must not point a deletion or a read outside --out.
std::string stored_run_dir(const std::string& out, const std::string& spec, const RunRow& row) {
  if (!is_plain_name(row.cell))
    throw InputError(
        fmt::format("{}/results.sqlite: run {} has the cell name '{}', which is not a plain name; "
                    "the store is damaged or was not written by seqlab",
                    out, row.id, row.cell));
  return fmt::format("{}/runs/{}/{}/seed-{}", out, spec, row.cell, row.seed);
}

// Stored runs whose cell the spec no longer has, or whose cell.json differs from the spec's cell
// now: an InputError naming the changed keys, or with --restart-changed their folders and rows
// deleted so they run afresh.
void restart_changed_cells(const ExperimentSpec& spec, const RunnerOptions& options,
                           const std::vector<RunRow>& existing,
                           const std::map<std::string, const Cell*>& by_id, ResultStore& store) {
  const std::string& out = options.out_dir;
  std::vector<const RunRow*> changed;
  for (const auto& row : existing) {
    const std::string id = fmt::format("{}/seed-{}", row.cell, row.seed);
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      changed.push_back(&row);
      continue;
    }
    const std::string recorded = stored_run_dir(out, spec.name, row) + "/cell.json";
    if (row.status != "pending" && fs::exists(recorded) &&
        Json::parse(read_file(recorded), nullptr, false) != it->second->to_json())
      changed.push_back(&row);
  }
  if (!changed.empty()) {
    std::vector<std::string> ids, keys;
    for (const auto* row : changed) ids.push_back(fmt::format("{}/seed-{}", row->cell, row->seed));
    if (auto before = store.spec(spec.name)) keys = changed_keys(*before, spec.json);
    if (!options.restart_changed)
      throw InputError(fmt::format(
          "{} changed since its cells in {} ran: changed keys: {}; cells affected: {}. Add "
          "--restart-changed to start those cells afresh (their results are deleted), or restore "
          "the spec",
          options.spec_path, out,
          keys.empty() ? "(the cells' resolved configs)" : fmt::format("{}", fmt::join(keys, ", ")),
          fmt::join(ids, ", ")));
    std::vector<std::string> dirs;  // every name checked before anything is deleted
    for (const auto* row : changed) dirs.push_back(stored_run_dir(out, spec.name, *row));
    for (size_t i = 0; i < changed.size(); ++i) {
      const auto* row = changed[i];
      log_info(fmt::format("starting afresh: {}/seed-{}", row->cell, row->seed));
      const std::string& dir = dirs[i];
      fs::remove_all(dir);
      std::error_code ignored;  // the cell's directory too once its last seed is gone
      fs::remove(fs::path(dir).parent_path(), ignored);
      store.delete_run(row->id);
    }
  }
}

}  // namespace

RunnerSummary run_experiment(const RunnerOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  ExperimentSpec spec = load_spec(options.spec_path, options.size);
  // Every cell the spec may run (seeds beyond the first run only while a relation is undecided).
  const std::vector<Cell> all_cells = expand_cells(spec, every_seed(spec));
  const std::set<uint64_t> first_seeds(spec.seeds.begin(), spec.seeds.end());
  if (options.jobs < 1) throw InputError("--jobs must be at least 1");
  const std::string out = options.out_dir;
  fs::create_directories(out + "/specs");
  DirectoryLock lock(out);
  ResultStore store(out + "/results.sqlite");
  auto cell_dir = [&](const Cell& c) {
    return fmt::format("{}/runs/{}/{}/seed-{}", out, spec.name, c.name, c.seed);
  };

  // What the directory already holds of this spec.
  std::vector<RunRow> existing = store.runs(spec.name);
  if (!existing.empty() && !options.resume) {
    int64_t finished = 0;
    for (const auto& r : existing) finished += r.status == "finished";
    throw InputError(
        fmt::format("{} already holds {} runs of spec '{}' ({} finished); add --resume to "
                    "complete the grid, or choose another --out",
                    out, existing.size(), spec.name, finished));
  }
  std::map<std::string, const Cell*> by_id;
  for (const auto& c : all_cells) by_id[c.id()] = &c;
  // This invocation's cells: the first seeds, and seeds an earlier run of this spec added.
  std::vector<const Cell*> cells;
  {
    std::set<std::string> stored;
    for (const auto& row : existing) stored.insert(fmt::format("{}/seed-{}", row.cell, row.seed));
    for (const auto& c : all_cells)
      if (first_seeds.count(c.seed) || stored.count(c.id())) cells.push_back(&c);
  }
  restart_changed_cells(spec, options, existing, by_id, store);
  store.put_spec(spec.name, spec.json, spec.size);
  write_file_atomic(fmt::format("{}/specs/{}.json", out, spec.name), spec.json.dump(2) + "\n");
  prepare_corpora(all_cells);

  RunnerSummary summary;
  summary.spec = spec.name;
  summary.cells = static_cast<int64_t>(cells.size());
  std::map<std::string, std::string> status;
  for (const auto& row : store.runs(spec.name))
    status[fmt::format("{}/seed-{}", row.cell, row.seed)] = row.status;
  std::deque<Job> queue;
  // Queues a cell unless it finished (or ended without being imported); true when queued.
  auto enqueue = [&](const Cell& c) {
    const std::string dir = cell_dir(c);
    fs::create_directories(dir);
    const std::string cell_json = dir + "/cell.json";
    if (!fs::exists(cell_json) || Json::parse(read_file(cell_json), nullptr, false) != c.to_json())
      write_file_atomic(cell_json, c.to_json().dump(2) + "\n");
    const int64_t run =
        store.ensure_run(spec.name, c.name, c.seed, c.kind, c.overrides, c.config, dir);
    if (status[c.id()] == "finished") {
      ++summary.skipped;
      return false;
    }
    Job job{&c, run, dir, nullptr};
    // A cell that ended but was not imported (the runner was killed in between) needs no rerun.
    if (import_result(store, job, 0)) {
      ++summary.skipped;
      return false;
    }
    queue.push_back(std::move(job));
    return true;
  };
  for (const Cell* c : cells) enqueue(*c);

  const int cores = options.threads > 0
                        ? options.threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / options.jobs);
  const std::string executable =
      options.executable.empty() ? current_executable() : options.executable;
  auto progress = std::make_unique<Progress>(spec.name, summary.cells, "cells");
  progress->resume_at(summary.skipped);
  std::vector<Job> running;
  auto show = [&] {
    std::vector<std::string> names;
    for (const auto& j : running) {
      std::string now = last_progress(j.dir + "/log.txt");
      names.push_back(now.empty() ? j.cell->id() : fmt::format("{} [{}]", j.cell->id(), now));
    }
    progress->set_status(fmt::format("{} running, {} left{}{}", running.size(), queue.size(),
                                     names.empty() ? "" : ": ", fmt::join(names, " ")));
  };
  auto last_show = std::chrono::steady_clock::now();
  auto execute = [&] {
    while (!queue.empty() || !running.empty()) {
      while (!queue.empty() && static_cast<int>(running.size()) < options.jobs) {
        Job job = std::move(queue.front());
        queue.pop_front();
        store.mark_running(job.run);
        auto argv = cell_command(executable, job.cell->to_json(), job.dir, threads, options.nproc);
        try {
          job.process = std::make_unique<BackgroundProcess>(argv, job.dir + "/stdout.txt",
                                                            job.dir + "/log.txt");
        } catch (const Error& e) {
          store.mark_failed(job.run, e.what());
          ++summary.failed;
          progress->advance();
          continue;
        }
        running.push_back(std::move(job));
        show();
      }
      for (size_t i = 0; i < running.size();) {
        BackgroundProcess::Exit exit{};
        if (!running[i].process->poll(exit)) {
          ++i;
          continue;
        }
        if (conclude(store, running[i], exit))
          ++summary.finished;
        else
          ++summary.failed;
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        show();
        progress->advance();
      }
      // What the running cells are doing, every few seconds.
      if (std::chrono::steady_clock::now() - last_show > std::chrono::seconds(3)) {
        show();
        last_show = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    progress->finish();
  };
  execute();
  // Adaptive seeds: while a relation is undecided, one more seed for the cells of each of its sides
  // that have the fewest, cheapest cells first, until every relation is decided, the cells reach
  // the maximum, or the time budget (checked between rounds) is spent. Rerunning with --resume
  // continues from the store.
  if (spec.max_seeds > static_cast<int64_t>(spec.seeds.size()) && !spec.relations.empty()) {
    const double budget_seconds = spec.seed_minutes * 60;
    for (int round = 1;; ++round) {
      const double spent =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const SeedRound next = next_seed_round(spec, all_cells, store, out);
      summary.undecided = next.undecided;
      if (next.cells.empty()) break;
      if (budget_seconds > 0 && spent >= budget_seconds) {
        log_info(fmt::format(
            "adaptive seeds: the budget of {} minutes is spent with {} relation(s) undecided",
            spec.seed_minutes, summary.undecided));
        break;
      }
      std::vector<std::string> ids;
      for (const Cell* c : next.cells) ids.push_back(c->id());
      log_info(fmt::format("adaptive seeds, round {}: {} relation(s) undecided; running {}", round,
                           summary.undecided, fmt::join(ids, ", ")));
      progress = std::make_unique<Progress>(spec.name + " +seeds",
                                            static_cast<int64_t>(next.cells.size()), "cells");
      for (const Cell* c : next.cells) {
        ++summary.cells;
        if (enqueue(*c)) ++summary.added_seeds;
      }
      execute();
    }
  }
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace seqlab
