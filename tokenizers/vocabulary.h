// A symbol table with the four specials first; shared by the char and word tokenizers.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"

namespace seqlab {

class Vocabulary {
 public:
  Vocabulary();  // just the specials: <pad> <unk> <s> </s>

  // Counts symbols and keeps those seen at least `min_frequency` times, most frequent first
  // (ties by symbol, so the result is deterministic), up to `max_size` in all (0 = no limit).
  static Vocabulary build(const std::vector<std::vector<std::string>>& symbol_lists,
                          int64_t min_frequency, int64_t max_size);

  int64_t id(const std::string& symbol) const;  // kUnk when unknown
  const std::string& symbol(int64_t id) const;
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }

  Json to_json() const;
  static Vocabulary from_json(const Json& symbols, const std::string& origin);

 private:
  void add(const std::string& symbol);
  std::vector<std::string> symbols_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace seqlab
