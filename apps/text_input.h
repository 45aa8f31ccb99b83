// Text files the CLI scores: UTF-8 lines (an error names file and line), and reference files that
// must have one line per hypothesis line.
#pragma once

#include <string>
#include <vector>

namespace seqlab::apps {

std::vector<std::string> read_text_lines(const std::string& path);

// Every reference file's lines, in order.
std::vector<std::vector<std::string>> read_reference_files(const std::vector<std::string>& paths);

// InputError naming both files unless every reference file (`paths[k]`, read as `references[k]`)
// has `hypotheses` lines, one per line of `hypothesis_path`.
void check_reference_lines(const std::vector<std::string>& paths,
                           const std::vector<std::vector<std::string>>& references,
                           const std::string& hypothesis_path, size_t hypotheses);

}  // namespace seqlab::apps
