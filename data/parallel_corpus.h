// Sentence pairs and the readers for the formats researchers bring: TSV (source<TAB>target per
// line) and Moses-style parallel files (train.en + train.fr, line i matches line i). Every line
// is checked: a missing tab, an empty side or bad UTF-8 is an InputError with file:line.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

struct SentencePair {
  std::string source;
  std::string target;
};

std::vector<SentencePair> read_tsv(const std::string& path);
std::vector<SentencePair> read_moses(const std::string& source_path,
                                     const std::string& target_path);
// Writes pairs as TSV atomically; tabs and newlines inside a sentence are an Error.
void write_tsv(const std::string& path, const std::vector<SentencePair>& pairs);

}  // namespace seqlab
