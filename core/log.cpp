#include "core/log.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {

JsonLinesLog::JsonLinesLog(const std::string& path, bool append) : path_(path) {
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  if (!out_) throw Error("cannot open log " + path);
}

void JsonLinesLog::write(Json record) {
  if (path_.empty()) return;
  if (!record.contains("time")) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    record["time"] = std::chrono::duration<double>(now).count();
  }
  out_ << record.dump() << '\n';
  out_.flush();
}

std::vector<Json> read_json_lines(const std::string& path) {
  std::vector<Json> records;
  for (const auto& line : read_lines(path)) {
    if (line.empty()) continue;
    Json record = Json::parse(line, nullptr, false);
    if (record.is_object())
      records.push_back(std::move(record));  // a torn or foreign line is skipped
  }
  return records;
}

namespace {
int g_console_rank = 0;
}  // namespace

void set_console_rank(int rank) { g_console_rank = rank; }
int console_rank() { return g_console_rank; }
std::string console_tag() {
  return g_console_rank > 0 ? "rank " + std::to_string(g_console_rank) + ": " : "";
}

void log_info(const std::string& message) {
  if (g_console_rank > 0) return;
  std::fprintf(stderr, "%s\n", message.c_str());
}
void log_warning(const std::string& message) {
  std::fprintf(stderr, "warning: %s%s\n", console_tag().c_str(), message.c_str());
}

}  // namespace seqlab
