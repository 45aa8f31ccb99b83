#include "tokenizers/vocabulary.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {
namespace {
const std::vector<std::string> kSpecialSymbols = {"<pad>", "<unk>", "<s>", "</s>"};
}

Vocabulary::Vocabulary() {
  for (const auto& s : kSpecialSymbols) add(s);
}

void Vocabulary::add(const std::string& symbol) {
  ids_.emplace(symbol, static_cast<int64_t>(symbols_.size()));
  symbols_.push_back(symbol);
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& symbol_lists,
                             int64_t min_frequency, int64_t max_size) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& list : symbol_lists)
    for (const auto& s : list) ++counts[s];
  std::vector<std::pair<std::string, int64_t>> ranked;
  for (auto& [symbol, count] : counts)
    if (count >= min_frequency &&
        std::find(kSpecialSymbols.begin(), kSpecialSymbols.end(), symbol) == kSpecialSymbols.end())
      ranked.emplace_back(symbol, count);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocabulary vocab;
  for (const auto& [symbol, count] : ranked) {
    if (max_size > 0 && vocab.size() >= max_size) break;
    vocab.add(symbol);
  }
  return vocab;
}

int64_t Vocabulary::id(const std::string& symbol) const {
  auto it = ids_.find(symbol);
  return it == ids_.end() ? Tokenizer::kUnk : it->second;
}

const std::string& Vocabulary::symbol(int64_t id) const {
  if (id < 0 || id >= size())
    throw InputError("token id " + std::to_string(id) + " out of range [0, " +
                     std::to_string(size()) + ")");
  return symbols_[static_cast<size_t>(id)];
}

Json Vocabulary::to_json() const { return symbols_; }

Vocabulary Vocabulary::from_json(const Json& symbols, const std::string& origin) {
  if (!symbols.is_array() || symbols.size() < kSpecialSymbols.size())
    throw InputError(origin + ": expected 'vocab' as a list of symbols starting with the specials");
  Vocabulary vocab;
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (!symbols[i].is_string())
      throw InputError(origin + ": vocab entry " + std::to_string(i) + " is not a string");
    if (i < kSpecialSymbols.size()) {
      if (symbols[i] != kSpecialSymbols[i])
        throw InputError(origin + ": vocab entry " + std::to_string(i) + " must be " +
                         kSpecialSymbols[i]);
      continue;
    }
    vocab.add(symbols[i].get<std::string>());
  }
  return vocab;
}

}  // namespace seqlab
