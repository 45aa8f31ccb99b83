#include "runner/store.h"

#include <unistd.h>

#include <chrono>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/error.h"

namespace seqlab {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// A prepared statement with positional binding and typed column access.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("results store: {} (in: {})", sqlite3_errmsg(db), sql));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  bool step() {  // true while a row is there
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(fmt::format("results store: {}", sqlite3_errmsg(db_)));
  }
  void run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
  }
  std::string text(int i) const {
    auto* p = sqlite3_column_text(stmt_, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  double real(int i) const { return sqlite3_column_double(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when the scope is left by an exception.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { Statement(db, "BEGIN IMMEDIATE").run(); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    Statement(db_, "COMMIT").run();
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS specs (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, size TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, spec TEXT NOT NULL, cell TEXT NOT NULL, seed INTEGER NOT NULL,
  kind TEXT NOT NULL, overrides TEXT NOT NULL, config TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'finished', 'failed')),
  started REAL, ended REAL, host TEXT, parameters INTEGER, train_seconds REAL, steps INTEGER,
  max_rss_mib REAL, dir TEXT NOT NULL, error TEXT,
  UNIQUE (spec, cell, seed));
CREATE TABLE IF NOT EXISTS metrics (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
  split TEXT NOT NULL, name TEXT NOT NULL, value REAL,
  PRIMARY KEY (run, step, split, name));
CREATE TABLE IF NOT EXISTS evaluations (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, split TEXT NOT NULL,
  beam INTEGER NOT NULL, metric TEXT NOT NULL, bucket TEXT NOT NULL, value REAL,
  signature TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run, split, beam, metric, bucket));
)";

}  // namespace

ResultStore::ResultStore(const std::string& path) : path_(path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("cannot open the results store {}: {}", path, message));
  }
  sqlite3_busy_timeout(db_, 10000);
  exec("PRAGMA foreign_keys = ON");
  exec("PRAGMA journal_mode = WAL");
  exec(kSchema);
}

ResultStore::~ResultStore() { sqlite3_close(db_); }

void ResultStore::exec(const std::string& sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "?";
    sqlite3_free(error);
    throw Error(fmt::format("results store {}: {}", path_, message));
  }
}

void ResultStore::put_spec(const std::string& name, const Json& spec, const std::string& size) {
  Statement(db_,
            "INSERT INTO specs (name, spec, size, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, size = excluded.size, "
            "updated = excluded.updated")
      .bind(1, name)
      .bind(2, spec.dump())
      .bind(3, size)
      .bind(4, now_seconds())
      .run();
}

std::optional<Json> ResultStore::spec(const std::string& name) const {
  Statement s(db_, "SELECT spec FROM specs WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  Json spec = parse_json(s.text(0), fmt::format("{}: spec '{}'", path_, name));
  if (!spec.is_object())
    throw InputError(fmt::format("{}: spec '{}': expected a JSON object", path_, name));
  return spec;
}

std::vector<std::string> ResultStore::spec_names() const {
  Statement s(db_, "SELECT name FROM specs ORDER BY name");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

int64_t ResultStore::ensure_run(const std::string& spec, const std::string& cell, uint64_t seed,
                                const std::string& kind, const Json& overrides, const Json& config,
                                const std::string& dir) {
  Statement(db_,
            "INSERT OR IGNORE INTO runs (spec, cell, seed, kind, overrides, config, status, dir) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
      .bind(1, spec)
      .bind(2, cell)
      .bind(3, static_cast<int64_t>(seed))
      .bind(4, kind)
      .bind(5, overrides.dump())
      .bind(6, config.dump())
      .bind(7, dir)
      .run();
  Statement s(db_, "SELECT id FROM runs WHERE spec = ? AND cell = ? AND seed = ?");
  s.bind(1, spec).bind(2, cell).bind(3, static_cast<int64_t>(seed));
  if (!s.step()) throw Error("results store: run row missing after insert");
  return s.integer(0);
}

void ResultStore::mark_running(int64_t run) {
  Statement(db_,
            "UPDATE runs SET status = 'running', started = COALESCE(started, ?), host = ?, "
            "error = NULL WHERE id = ?")
      .bind(1, now_seconds())
      .bind(2, host_name())
      .bind(3, run)
      .run();
}

void ResultStore::mark_failed(int64_t run, const std::string& error) {
  Statement(db_, "UPDATE runs SET status = 'failed', ended = ?, error = ? WHERE id = ?")
      .bind(1, now_seconds())
      .bind(2, error)
      .bind(3, run)
      .run();
}

void ResultStore::finish_run(int64_t run, const RunResult& result) {
  Transaction transaction(db_);
  Statement(db_, "DELETE FROM metrics WHERE run = ?").bind(1, run).run();
  Statement(db_, "DELETE FROM evaluations WHERE run = ?").bind(1, run).run();
  Statement metric(
      db_, "INSERT OR REPLACE INTO metrics (run, step, split, name, value) VALUES (?, ?, ?, ?, ?)");
  for (const auto& m : result.metrics)
    metric.bind(1, run).bind(2, m.step).bind(3, m.split).bind(4, m.name).bind(5, m.value).run();
  Statement evaluation(
      db_,
      "INSERT OR REPLACE INTO evaluations (run, split, beam, metric, bucket, value, "
      "signature) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const auto& e : result.evaluations)
    evaluation.bind(1, run)
        .bind(2, e.split)
        .bind(3, e.beam)
        .bind(4, e.metric)
        .bind(5, e.bucket)
        .bind(6, e.value)
        .bind(7, e.signature)
        .run();
  Statement(db_,
            "UPDATE runs SET status = 'finished', ended = ?, host = ?, parameters = ?, "
            "train_seconds = ?, steps = ?, max_rss_mib = ?, error = NULL WHERE id = ?")
      .bind(1, now_seconds())
      .bind(2, host_name())
      .bind(3, result.parameters)
      .bind(4, result.train_seconds)
      .bind(5, result.steps)
      .bind(6, result.max_rss_mib)
      .bind(7, run)
      .run();
  transaction.commit();
}

void ResultStore::delete_run(int64_t run) {
  Transaction transaction(db_);
  Statement(db_, "DELETE FROM metrics WHERE run = ?").bind(1, run).run();
  Statement(db_, "DELETE FROM evaluations WHERE run = ?").bind(1, run).run();
  Statement(db_, "DELETE FROM runs WHERE id = ?").bind(1, run).run();
  transaction.commit();
}

std::vector<RunRow> ResultStore::runs(const std::string& spec) const {
  Statement s(db_,
              "SELECT id, spec, cell, seed, kind, overrides, config, status, COALESCE(started, 0), "
              "COALESCE(ended, 0), COALESCE(host, ''), COALESCE(parameters, 0), "
              "COALESCE(train_seconds, 0), COALESCE(steps, 0), COALESCE(max_rss_mib, 0), dir, "
              "COALESCE(error, '') FROM runs WHERE ? = '' OR spec = ? ORDER BY spec, id");
  s.bind(1, spec).bind(2, spec);
  std::vector<RunRow> out;
  while (s.step()) {
    RunRow r;
    r.id = s.integer(0);
    r.spec = s.text(1);
    r.cell = s.text(2);
    r.seed = static_cast<uint64_t>(s.integer(3));
    r.kind = s.text(4);
    r.overrides = parse_json(s.text(5), fmt::format("{}: run {} column overrides", path_, r.id));
    r.config = parse_json(s.text(6), fmt::format("{}: run {} column config", path_, r.id));
    if (!r.overrides.is_object())
      throw InputError(
          fmt::format("{}: run {} column overrides: expected a JSON object", path_, r.id));
    r.status = s.text(7);
    r.started = s.real(8);
    r.ended = s.real(9);
    r.host = s.text(10);
    r.parameters = s.integer(11);
    r.train_seconds = s.real(12);
    r.steps = s.integer(13);
    r.max_rss_mib = s.real(14);
    r.dir = s.text(15);
    r.error = s.text(16);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<MetricRow> ResultStore::metrics(int64_t run) const {
  Statement s(
      db_, "SELECT step, split, name, value FROM metrics WHERE run = ? ORDER BY step, split, name");
  s.bind(1, run);
  std::vector<MetricRow> out;
  while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2), s.real(3)});
  return out;
}

std::vector<EvaluationRow> ResultStore::evaluations(int64_t run) const {
  Statement s(db_,
              "SELECT split, beam, metric, bucket, value, signature FROM evaluations WHERE run = ? "
              "ORDER BY split, beam, metric, bucket");
  s.bind(1, run);
  std::vector<EvaluationRow> out;
  while (s.step())
    out.push_back({s.text(0), s.integer(1), s.text(2), s.text(3), s.real(4), s.text(5)});
  return out;
}

}  // namespace seqlab
