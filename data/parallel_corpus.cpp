#include "data/parallel_corpus.h"

#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace seqlab {

std::vector<SentencePair> read_tsv(const std::string& path) {
  auto lines = read_lines(path);
  std::vector<SentencePair> pairs;
  pairs.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::string where = fmt::format("{}:{}", path, i + 1);
    if (line.empty()) {
      if (i + 1 == lines.size()) break;  // a trailing empty line is harmless
      throw InputError(where + ": empty line (expected source<TAB>target)");
    }
    require_utf8(line, where);
    auto tab = line.find('\t');
    if (tab == std::string::npos) throw InputError(where + ": no tab (expected source<TAB>target)");
    if (line.find('\t', tab + 1) != std::string::npos)
      throw InputError(where +
                       ": more than one tab (expected exactly 2 fields: source<TAB>target)");
    SentencePair pair{line.substr(0, tab), line.substr(tab + 1)};
    if (pair.source.empty() || pair.target.empty())
      throw InputError(where + ": empty " + (pair.source.empty() ? "source" : "target") +
                       " side (expected source<TAB>target)");
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

std::vector<SentencePair> read_moses(const std::string& source_path,
                                     const std::string& target_path) {
  auto sources = read_lines(source_path);
  auto targets = read_lines(target_path);
  if (sources.size() != targets.size())
    throw InputError(fmt::format(
        "parallel files differ in length: {} has {} lines, {} has {} (line i of one must "
        "translate line i of the other)",
        source_path, sources.size(), target_path, targets.size()));
  std::vector<SentencePair> pairs;
  pairs.reserve(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    require_utf8(sources[i], fmt::format("{}:{}", source_path, i + 1));
    require_utf8(targets[i], fmt::format("{}:{}", target_path, i + 1));
    if (sources[i].empty() != targets[i].empty())
      throw InputError(fmt::format("{}:{}: one side is empty and the other is not",
                                   sources[i].empty() ? source_path : target_path, i + 1));
    if (sources[i].empty()) continue;  // both empty: Moses corpora use this as a document break
    pairs.push_back({sources[i], targets[i]});
  }
  return pairs;
}

void write_tsv(const std::string& path, const std::vector<SentencePair>& pairs) {
  std::string content;
  for (size_t i = 0; i < pairs.size(); ++i) {
    for (const std::string* side : {&pairs[i].source, &pairs[i].target})
      if (side->find_first_of("\t\n\r") != std::string::npos)
        throw Error(fmt::format("pair {} for {} contains a tab or newline", i + 1, path));
    content += pairs[i].source;
    content += '\t';
    content += pairs[i].target;
    content += '\n';
  }
  write_file_atomic(path, content);
}

}  // namespace seqlab
