// "Did you mean" suggestions for misspelt names (config keys, spec keys, component names).
#pragma once

#include <string>
#include <vector>

namespace seqlab {

// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b);

// "; did you mean 'x'?" for the candidate closest to `word` (at most 3 edits away), else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace seqlab
