#include "data/ui_message_filter.h"

#include <cctype>

#include "core/utf8.h"

namespace seqlab {
namespace {

bool has_placeholder(const std::string& s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    char c = s[i], next = s[i + 1];
    if (c == '%' && (std::isalnum(static_cast<unsigned char>(next)) || next == '(' ||
                     next == '.' || next == '-' || next == '*' || next == '\'' || next == ' '))
      return true;  // printf (%s %d %.2f %-5s %(name)s) and Qt/LibreOffice (%1 %PRODUCTNAME)
    if (c == '{' && (std::isalnum(static_cast<unsigned char>(next)) || next == '}' || next == '_'))
      return true;  // {0} {name} {}
    if (c == '$' && (std::isalpha(static_cast<unsigned char>(next)) || next == '{' ||
                     next == '(' || next == '_' || next == '1'))
      return true;  // $var ${var} $(var) $1
  }
  return false;
}

bool has_markup(const std::string& s) {
  auto open = s.find('<');
  return open != std::string::npos && s.find('>', open) != std::string::npos;
}

bool has_accelerator(const std::string& s) {
  return s.find_first_of("_&~") != std::string::npos;
}

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

Json UiFilterStats::to_json() const {
  return {{"seen", seen},           {"untranslated", untranslated}, {"bad_utf8", bad_utf8},
          {"multiline", multiline}, {"placeholder", placeholder},   {"markup", markup},
          {"accelerator", accelerator}, {"length", length},         {"ratio", ratio},
          {"duplicates", duplicates}, {"kept", kept}};
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

std::optional<SentencePair> filter_ui_message(const MoMessage& message, UiFilterStats& stats) {
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
  if (has_accelerator(source) || has_accelerator(target)) {
    ++stats.accelerator;
    return std::nullopt;
  }
  source = trim(source);
  target = trim(target);
  size_t source_words = count_words(source), target_words = count_words(target);
  if (source_words < 3 || source_words > 40) {
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
