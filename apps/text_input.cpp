#include "apps/text_input.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace seqlab::apps {

std::vector<std::string> read_text_lines(const std::string& path) {
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i)
    require_utf8(lines[i], fmt::format("{}:{}", path, i + 1));
  return lines;
}

std::vector<std::vector<std::string>> read_reference_files(const std::vector<std::string>& paths) {
  std::vector<std::vector<std::string>> references;
  for (const auto& path : paths) references.push_back(read_text_lines(path));
  return references;
}

void check_reference_lines(const std::vector<std::string>& paths,
                           const std::vector<std::vector<std::string>>& references,
                           const std::string& hypothesis_path, size_t hypotheses) {
  for (size_t k = 0; k < references.size(); ++k)
    if (references[k].size() != hypotheses)
      throw InputError(fmt::format(
          "{} has {} lines but {} has {}: a reference file needs one line per hypothesis line",
          paths[k], references[k].size(), hypothesis_path, hypotheses));
}

}  // namespace seqlab::apps
