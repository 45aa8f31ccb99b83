// Sentence pairs and the readers for the formats researchers bring: TSV (source<TAB>target per
// line) and Moses-style parallel files (train.en + train.fr, line i matches line i). Every line
// is checked: a missing tab, an empty side or bad UTF-8 is an InputError with file:line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seqlab {

struct SentencePair {
  std::string source;
  std::string target;
};

// Lines skipped as bad (data.skip_bad_lines): the first few named by file:line and reason, the
// rest counted.
struct BadLines {
  static constexpr size_t kNamed = 5;
  int64_t count = 0;
  std::vector<std::string> named;  // "file:line: reason", the first kNamed
  void add(const std::string& message);
  // "skipped N bad line(s) (data.skip_bad_lines): <first> ...; and M more", or "" when none.
  std::string summary() const;
};

// Reads a TSV file one line at a time (memory bounded by the longest line) and calls `each` with
// every pair and its 1-based line number. A bad line (no tab, two tabs, an empty side, invalid
// UTF-8, an empty line before the end) is an InputError naming file:line, or, with `bad`, counted
// there and skipped. Returns the number of lines read.
int64_t for_each_tsv_pair(const std::string& path,
                          const std::function<void(SentencePair&&, int64_t line)>& each,
                          BadLines* bad = nullptr);

std::vector<SentencePair> read_tsv(const std::string& path, BadLines* bad = nullptr);
std::vector<SentencePair> read_moses(const std::string& source_path,
                                     const std::string& target_path);
// Writes pairs as TSV atomically; tabs and newlines inside a sentence are an Error.
void write_tsv(const std::string& path, const std::vector<SentencePair>& pairs);

}  // namespace seqlab
