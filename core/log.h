// Machine-readable logs: one JSON object per line, flushed per record, with a wall-clock time.
#pragma once

#include <fstream>
#include <string>

#include "core/config.h"

namespace seqlab {

class JsonLinesLog {
 public:
  // Appends to `path` (creating parent directories) so a resumed run continues its log.
  explicit JsonLinesLog(const std::string& path, bool append = true);
  // A log that keeps nothing (the ranks other than 0 of a data-parallel job).
  JsonLinesLog() = default;
  void write(
      Json record);  // adds "time" (seconds since the epoch) unless present; nothing if no path
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// Reads every record back: the JSON objects, one a line (a torn last line left by a crash, or any
// line that is not an object, is skipped).
std::vector<Json> read_json_lines(const std::string& path);

// Human-facing messages on stderr, so stdout stays clean for results and --json.
void log_info(const std::string& message);
void log_warning(const std::string& message);

// The console of a data-parallel job belongs to rank 0: on other ranks (set once, at start)
// progress and info lines are silent, and warnings and errors say which rank wrote them.
void set_console_rank(int rank);
int console_rank();
// "rank R: " on ranks other than 0, "" otherwise.
std::string console_tag();

}  // namespace seqlab
