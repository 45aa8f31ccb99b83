#include "data/ui_message_filter.h"

#include <cctype>

#include "core/utf8.h"

namespace seqlab {
namespace {

bool has_placeholder(const std::string& s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    char c = s[i], next = s[i + 1];
    if (c == '%' && (std::isalnum(static_cast<unsigned char>(next)) || next == '(' || next == '.' ||
                     next == '-' || next == '*' || next == '\'' || next == ' '))
      return true;  // printf (%s %d %.2f %-5s %(name)s) and Qt/LibreOffice (%1 %PRODUCTNAME)
    if (c == '{' && (std::isalnum(static_cast<unsigned char>(next)) || next == '}' || next == '_'))
      return true;  // {0} {name} {}
    if (c == '$' && (std::isalpha(static_cast<unsigned char>(next)) || next == '{' || next == '(' ||
                     next == '_' || next == '1'))
      return true;  // $var ${var} $(var) $1
  }
  return false;
}

// Tags (<b>...</b>) and character entities (&amp; &#169;).
bool has_markup(const std::string& s) {
  auto open = s.find('<');
  if (open != std::string::npos && s.find('>', open) != std::string::npos) return true;
  for (size_t amp = s.find('&'); amp != std::string::npos; amp = s.find('&', amp + 1)) {
    size_t end = amp + 1;
    while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '#'))
      ++end;
    if (end > amp + 1 && end < s.size() && s[end] == ';') return true;
  }
  return false;
}

// A mnemonic mark before a letter: GTK "_Open", Qt/KDE "&Save", LibreOffice "~Print". A lone
// "&" between words ("Tools & Options") is text, not an accelerator.
// An identifier such as "config_key" copied verbatim into the translation is plumbing, not an
// accelerator: a word with '_' that occurs in both sides.
bool shares_identifier(const std::string& source, const std::string& target) {
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find(' ', start);
    if (end == std::string::npos) end = source.size();
    std::string word = source.substr(start, end - start);
    if (word.size() > 1 && word.find('_') != std::string::npos &&
        target.find(word) != std::string::npos)
      return true;
    start = end + 1;
  }
  return false;
}

// Removes them, returning how many there were: the message itself is good text.
int strip_accelerators(std::string& s) {
  int removed = 0;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '_' || s[i] == '&' || s[i] == '~') && i + 1 < s.size() &&
        (std::isalnum(static_cast<unsigned char>(s[i + 1])) ||
         static_cast<unsigned char>(s[i + 1]) >= 0x80)) {
      ++removed;
      continue;
    }
    out += s[i];
  }
  s.swap(out);
  return removed;
}

// Left-over plumbing after stripping: snake_case identifiers, "~/" paths. ("Food & Drink" is text.)
bool has_plumbing(const std::string& s) { return s.find_first_of("_~") != std::string::npos; }

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

Json UiFilterStats::to_json() const {
  return {{"seen", seen},
          {"untranslated", untranslated},
          {"bad_utf8", bad_utf8},
          {"multiline", multiline},
          {"placeholder", placeholder},
          {"markup", markup},
          {"accelerator", accelerator},
          {"length", length},
          {"ratio", ratio},
          {"duplicates", duplicates},
          {"kept", kept}};
}

size_t count_words(const std::string& text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\t';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::optional<SentencePair> filter_ui_message(const MoMessage& message, UiFilterStats& stats,
                                              size_t min_words, size_t max_words) {
  ++stats.seen;
  if (message.id.empty() || message.translations.empty() || message.translations[0].empty()) {
    ++stats.untranslated;
    return std::nullopt;
  }
  std::string source = message.id;
  std::string target = message.translations[0];
  if (find_invalid_utf8(source) != std::string::npos ||
      find_invalid_utf8(target) != std::string::npos) {
    ++stats.bad_utf8;
    return std::nullopt;
  }
  if (source.find_first_of("\n\r\t") != std::string::npos ||
      target.find_first_of("\n\r\t") != std::string::npos) {
    ++stats.multiline;
    return std::nullopt;
  }
  if (has_placeholder(source) || has_placeholder(target)) {
    ++stats.placeholder;
    return std::nullopt;
  }
  if (has_markup(source) || has_markup(target)) {
    ++stats.markup;
    return std::nullopt;
  }
  if (shares_identifier(source, target)) {
    ++stats.placeholder;
    return std::nullopt;
  }
  if (strip_accelerators(source) + strip_accelerators(target) > 0) ++stats.accelerator;
  if (has_plumbing(source) || has_plumbing(target)) {
    ++stats.placeholder;
    return std::nullopt;
  }
  source = trim(source);
  target = trim(target);
  size_t source_words = count_words(source), target_words = count_words(target);
  if (source_words < min_words || source_words > max_words) {
    ++stats.length;
    return std::nullopt;
  }
  size_t shorter = std::min(source_words, target_words);
  size_t longer = std::max(source_words, target_words);
  if (longer > 2 * shorter + 3) {
    ++stats.ratio;
    return std::nullopt;
  }
  ++stats.kept;
  return SentencePair{source, target};
}

}  // namespace seqlab
