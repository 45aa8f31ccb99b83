// Text files the CLI scores: UTF-8 lines (an error names file and line), and reference files that
// must have one line per hypothesis line.
#pragma once

#include <string>
#include <vector>

namespace seqlab::apps {

std::vector<std::string> read_text_lines(const std::string& path);

// Every reference file, each checked to have `hypotheses` lines (InputError naming both files).
std::vector<std::vector<std::string>> read_reference_files(const std::vector<std::string>& paths,
                                                           const std::string& hypothesis_path,
                                                           size_t hypotheses);

}  // namespace seqlab::apps
