#include "runner/cell.h"

#include <fmt/format.h>

#include "core/error.h"
#include "runner/cell_kind.h"

namespace seqlab {
namespace {

const CellKind& kind_of(const Json& cell, const std::string& dir) {
  const Json& kind = cell.at("kind");
  if (!kind.is_string()) throw InputError(dir + "/cell.json: kind: expected a string");
  try {
    return cell_kind(kind.get<std::string>());
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}/cell.json: {}", dir, e.what()));
  }
}

}  // namespace

std::vector<std::string> cell_command(const std::string& executable, const Json& cell,
                                      const std::string& dir, int threads, int nproc) {
  return kind_of(cell, dir).command(executable, cell, dir, threads, nproc);
}

std::string collect_cell_result(const Json& cell, const std::string& dir) {
  return kind_of(cell, dir).collect(dir);
}

RunResult read_cell_result(const Json& cell, const std::string& dir, int64_t max_rss_kib) {
  // result.json comes from the cell's process; a run folder from elsewhere may hold anything.
  return with_json_context(dir + "/result.json", [&] {
    RunResult out;
    out.max_rss_mib = double(max_rss_kib) / 1024.0;
    kind_of(cell, dir).import(dir, read_json_file(dir + "/result.json"), out);
    return out;
  });
}

}  // namespace seqlab
