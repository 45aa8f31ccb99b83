// The results store: one SQLite file (DIR/results.sqlite) that any SQLite client can read.
//
//   specs        (name PK, spec JSON, size, updated)
//   runs         (id PK, spec, cell, seed, UNIQUE(spec, cell, seed); kind, overrides JSON,
//                 config JSON, status pending|running|finished|failed, started, ended, host,
//                 parameters, train_seconds, steps, max_rss_mib, dir, error)
//   metrics      (run, step, split, name, value; PK(run, step, split, name)): the run's log
//   evaluations  (run, split, beam, metric, bucket, value, signature;
//                 PK(run, split, beam, metric, bucket)); bucket "" is the whole split
//
// Every import is one transaction that replaces what the run had, so importing twice gives the
// same rows and a killed process never leaves half a run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

struct sqlite3;

namespace seqlab {

struct RunRow {
  int64_t id = 0;
  std::string spec, cell;
  uint64_t seed = 0;
  std::string kind, status, host, dir, error;
  Json overrides = Json::object(), config = Json::object();
  double started = 0, ended = 0, train_seconds = 0, max_rss_mib = 0;
  int64_t parameters = 0, steps = 0;
};

struct MetricRow {
  int64_t step;
  std::string split, name;
  double value;
};

struct EvaluationRow {
  std::string split;
  int64_t beam;
  std::string metric, bucket;
  double value;
  std::string signature;
};

// What a finished cell brings into the store.
struct RunResult {
  int64_t parameters = 0, steps = 0;
  double train_seconds = 0, max_rss_mib = 0;
  std::vector<MetricRow> metrics;
  std::vector<EvaluationRow> evaluations;
};

class ResultStore {
 public:
  // Opens (creating) the database; Error when it cannot.
  explicit ResultStore(const std::string& path);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  void put_spec(const std::string& name, const Json& spec, const std::string& size);
  std::optional<Json> spec(const std::string& name) const;
  std::vector<std::string> spec_names() const;

  // Inserts the run as pending when absent; returns its id either way.
  int64_t ensure_run(const std::string& spec, const std::string& cell, uint64_t seed,
                     const std::string& kind, const Json& overrides, const Json& config,
                     const std::string& dir);
  void mark_running(int64_t run);
  void mark_failed(int64_t run, const std::string& error);
  // Status finished with the result, its metrics and evaluations, replacing any earlier ones.
  void finish_run(int64_t run, const RunResult& result);
  // Removes a run and its rows (a cell started afresh or dropped from the spec).
  void delete_run(int64_t run);

  std::vector<RunRow> runs(const std::string& spec = "") const;
  std::vector<MetricRow> metrics(int64_t run) const;
  std::vector<EvaluationRow> evaluations(int64_t run) const;

 private:
  void exec(const std::string& sql) const;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace seqlab
