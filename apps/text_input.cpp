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

std::vector<std::vector<std::string>> read_reference_files(const std::vector<std::string>& paths,
                                                           const std::string& hypothesis_path,
                                                           size_t hypotheses) {
  std::vector<std::vector<std::string>> references;
  for (const auto& path : paths) {
    references.push_back(read_text_lines(path));
    if (references.back().size() != hypotheses)
      throw InputError(fmt::format(
          "{} has {} lines but {} has {}: a reference file needs one line per hypothesis line",
          path, references.back().size(), hypothesis_path, hypotheses));
  }
  return references;
}

}  // namespace seqlab::apps
