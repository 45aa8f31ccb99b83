#include "data/parallel_corpus.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace seqlab {

void BadLines::add(const std::string& message) {
  if (named.size() < kNamed) named.push_back(message);
  ++count;
}

std::string BadLines::summary() const {
  if (count == 0) return "";
  std::string text = fmt::format("skipped {} bad line(s) (data.skip_bad_lines): ", count);
  for (size_t i = 0; i < named.size(); ++i) text += (i ? "; " : "") + named[i];
  if (count > static_cast<int64_t>(named.size()))
    text += fmt::format("; and {} more", count - static_cast<int64_t>(named.size()));
  return text;
}

namespace {

// The pair on one TSV line, or the reason it is not one ("" when it is).
std::string parse_tsv_line(const std::string& line, SentencePair& pair) {
  if (size_t at = find_invalid_utf8(line); at != std::string::npos)
    return fmt::format("invalid UTF-8 at byte {} (expected UTF-8 text)", at + 1);
  auto tab = line.find('\t');
  if (tab == std::string::npos) return "no tab (expected source<TAB>target)";
  if (line.find('\t', tab + 1) != std::string::npos)
    return "more than one tab (expected exactly 2 fields: source<TAB>target)";
  if (tab == 0) return "empty source side (expected source<TAB>target)";
  if (tab + 1 == line.size()) return "empty target side (expected source<TAB>target)";
  pair.source.assign(line, 0, tab);
  pair.target.assign(line, tab + 1, std::string::npos);
  return "";
}

}  // namespace

int64_t for_each_tsv_pair(const std::string& path,
                          const std::function<void(SentencePair&&, int64_t line)>& each,
                          BadLines* bad) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  int64_t number = 0, pending_empty = 0;  // an empty line is harmless only as the last one
  auto reject = [&](int64_t at, const std::string& reason) {
    std::string message = fmt::format("{}:{}: {}", path, at, reason);
    if (!bad) throw InputError(message);
    bad->add(message);
  };
  std::string line;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (pending_empty) {
      reject(pending_empty, "empty line (expected source<TAB>target)");
      pending_empty = 0;
    }
    if (line.empty()) {
      pending_empty = number;
      continue;
    }
    SentencePair pair;
    std::string reason = parse_tsv_line(line, pair);
    if (!reason.empty()) {
      reject(number, reason);
      continue;
    }
    each(std::move(pair), number);
  }
  if (in.bad()) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  return number;
}

std::vector<SentencePair> read_tsv(const std::string& path, BadLines* bad) {
  std::vector<SentencePair> pairs;
  for_each_tsv_pair(
      path, [&](SentencePair&& pair, int64_t) { pairs.push_back(std::move(pair)); }, bad);
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
