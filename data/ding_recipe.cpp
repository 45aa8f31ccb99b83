// The Ding German-English dictionary (Debian trans-de-en): lines "de1 | de2 :: en1 | en2" where
// segment i of one side translates segment i of the other. Whole-sentence examples (both sides end
// in . ! or ?, with no ';' '/' 'etw.' 'sth.' alternatives) make an everyday en-de corpus with a
// broad vocabulary.
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/debian_packages.h"
#include "data/recipe.h"

namespace fs = std::filesystem;

namespace seqlab {

// Exposed for tests: the sentence pairs of one dictionary line (en, de), or none.
std::vector<SentencePair> ding_line_pairs(const std::string& line);

namespace {

std::vector<std::string> split_on(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + separator.size();
  }
  return parts;
}

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

bool is_whole_sentence(const std::string& s) {
  if (s.size() < 2) return false;
  char last = s.back();
  if (last != '.' && last != '!' && last != '?') return false;
  return s.find(';') == std::string::npos && s.find('/') == std::string::npos &&
         s.find("etw.") == std::string::npos && s.find("sth.") == std::string::npos;
}

class DingRecipe : public Recipe {
 public:
  PreparedCorpus prepare(const std::string& name, const std::string& out_dir) const override {
    auto debs = download_debs({"trans-de-en"}, (fs::path(data_cache_dir()) / "packages").string());
    StagingDirectory staging(out_dir);
    fs::path unpacked = fs::path(staging.path()) / "unpacked";
    unpack_deb(debs[0], unpacked.string());
    fs::path dictionary = unpacked / "usr/share/trans/de-en";
    if (!fs::exists(dictionary))
      throw InputError("package trans-de-en has no usr/share/trans/de-en; has its layout changed?");
    auto lines = read_lines(dictionary.string());
    std::vector<SentencePair> pairs;
    std::set<std::string> seen;
    int64_t bad_utf8 = 0;
    for (const auto& line : lines) {
      if (find_invalid_utf8(line) != std::string::npos) {
        ++bad_utf8;
        continue;
      }
      for (auto& pair : ding_line_pairs(line))
        if (seen.insert(lowercase_ascii(pair.source)).second) pairs.push_back(std::move(pair));
    }
    fs::remove_all(unpacked);
    if (pairs.empty()) throw Error("no sentence pairs found in " + dictionary.string());
    size_t held_out = std::min<size_t>(1000, pairs.size() / 20);
    Splits splits = split_by_hash(pairs, held_out, held_out, /*seed=*/20240101);
    Json meta = {{"recipe", name},
                 {"source_lang", "en"},
                 {"target_lang", "de"},
                 {"packages", {"trans-de-en"}},
                 {"dictionary_lines", lines.size()},
                 {"bad_utf8_lines", bad_utf8}};
    PreparedCorpus corpus = write_splits(staging.path(), splits, meta);
    staging.commit();
    corpus.directory = out_dir;
    corpus.counts["pairs"] = static_cast<int64_t>(pairs.size());
    return corpus;
  }
};

const bool registered = dataset_registry().add(
    "ding-en-de", [] { return std::unique_ptr<Recipe>(new DingRecipe()); },
    "en-de example sentences of the Ding dictionary (Debian trans-de-en, ~15k pairs)");

}  // namespace

std::vector<SentencePair> ding_line_pairs(const std::string& line) {
  std::vector<SentencePair> out;
  if (line.empty() || line[0] == '#') return out;
  auto sides = split_on(line, " :: ");
  if (sides.size() != 2) return out;
  auto german = split_on(sides[0], " | ");
  auto english = split_on(sides[1], " | ");
  if (german.size() != english.size()) return out;
  for (size_t i = 0; i < german.size(); ++i) {
    std::string de = trim(german[i]), en = trim(english[i]);
    if (is_whole_sentence(de) && is_whole_sentence(en)) out.push_back({en, de});
  }
  return out;
}

}  // namespace seqlab
