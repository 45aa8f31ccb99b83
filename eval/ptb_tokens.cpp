// caption_tokens(): captions as coco-caption (pycocoevalcap) reads them before CIDEr-D and BLEU:
// Stanford CoreNLP 3.4.1's PTBTokenizer with -preserveLines -lowerCase, then every token that is
// exactly one of its PUNCTUATIONS list dropped:
//   '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;
// Two consequences are easy to miss. Brackets come out of the lower-casing tokenizer as -lrb-,
// -rrb-, -lsb-, -rsb-, -lcb-, -rcb-, which the upper-case list does not match, so they stay as
// words; and runs such as "?!" or "!!", "%", "$", "#", "&", "+" and "=" are tokens the list
// does not name either. The rules below are PTBLexer's for the characters captions carry (checked
// token for token against PTBTokenizer 3.4.1 on punctuation-heavy captions; the cases are in
// tests/eval/caption_metrics_test.cpp). Lower-casing is ASCII only (PTB lower-cases every script).
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "eval/metric.h"

namespace seqlab {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (static_cast<unsigned char>(c) >= 0x80);
}
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

// ASCII lower case, curly quotes to straight ones, dashes and ellipses spaced out as PTB
// normalises them (an em dash becomes "--", a pound sign "#", a euro sign "$").
std::string normalise(const std::string& text) {
  static const std::vector<std::pair<std::string, std::string>> kMap = {
      {"\xE2\x80\x9C", "\""},   {"\xE2\x80\x9D", "\""},   {"\xE2\x80\x9E", "\""},
      {"\xE2\x80\x98", "'"},    {"\xE2\x80\x99", "'"},    {"\xE2\x80\x9A", "'"},
      {"\xE2\x80\x94", " -- "}, {"\xE2\x80\x93", " -- "}, {"\xE2\x80\xA6", " ... "},
      {"\xC2\xA3", "#"},        {"\xE2\x82\xAC", "$"}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool mapped = false;
    if (static_cast<unsigned char>(text[i]) >= 0x80)
      for (const auto& [from, to] : kMap)
        if (text.compare(i, from.size(), from) == 0) {
          out += to;
          i += from.size();
          mapped = true;
          break;
        }
    if (mapped) continue;
    const auto c = static_cast<unsigned char>(text[i++]);
    out.push_back(static_cast<char>(c < 128 ? std::tolower(c) : c));
  }
  return out;
}

// Words PTBLexer keeps with their final period (its abbreviation lists, lower-cased).
bool abbreviation(const std::string& base) {
  static const std::set<std::string> kAbbreviations = {
      "mr",  "mrs",  "ms",  "dr",  "st",   "jr",     "sr",  "prof", "gen",  "gov", "sen", "rep",
      "rev", "capt", "col", "lt",  "sgt",  "mt",     "ft",  "ave",  "blvd", "rd",  "etc", "vs",
      "no",  "inc",  "ltd", "co",  "corp", "jan",    "feb", "mar",  "apr",  "jun", "jul", "aug",
      "sep", "sept", "oct", "nov", "dec",  "messrs", "mme", "mlle", "pp",   "fig", "esp"};
  if (kAbbreviations.count(base)) return true;
  // Acronyms with inner periods: u.s, a.m, e.g, u.s.a (letters separated by single periods).
  if (base.size() < 3) return false;
  for (size_t i = 0; i < base.size(); ++i) {
    const bool letter_slot = i % 2 == 0;
    if (letter_slot ? !is_alpha(base[i]) : base[i] != '.') return false;
  }
  return base.size() % 2 == 1;
}

// The core of a chunk, its outer punctuation peeled: clitics and PTB's split words.
void word_tokens(const std::string& word, std::vector<std::string>& out) {
  if (word.empty()) return;
  static const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> kSplit = {
      {"cannot", {"can", "not"}}, {"gonna", {"gon", "na"}}, {"wanna", {"wan", "na"}},
      {"gotta", {"got", "ta"}},   {"lemme", {"lem", "me"}}, {"gimme", {"gim", "me"}},
      {"y'all", {"y'", "all"}}};
  for (const auto& [whole, parts] : kSplit)
    if (word == whole) {
      out.push_back(parts.first);
      out.push_back(parts.second);
      return;
    }
  static const std::vector<std::string> kClitics = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m"};
  for (const auto& c : kClitics)
    if (word.size() > c.size() && word.compare(word.size() - c.size(), c.size(), c) == 0) {
      out.push_back(word.substr(0, word.size() - c.size()));
      out.push_back(c);
      return;
    }
  out.push_back(word);
}

// Characters PTB always makes a token of their own, wherever they stand in a chunk.
bool always_alone(char c) {
  return c == '"' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
         c == ';' || c == '=' || c == '*' || c == '~' || c == '^' || c == '_' || c == '|' ||
         c == '\\';
}

std::string bracket_token(char c) {
  switch (c) {
    case '(':
      return "-lrb-";
    case ')':
      return "-rrb-";
    case '[':
      return "-lsb-";
    case ']':
      return "-rsb-";
    case '{':
      return "-lcb-";
    case '}':
      return "-rcb-";
    case '"':
      return "``";
    default:
      return std::string(1, c);
  }
}

void chunk_tokens(std::string chunk, std::vector<std::string>& out);

// Splits a chunk at the characters that always stand alone and at , : between non-digits, + or !
// ? inside a word, then tokenises each piece.
void split_inner(const std::string& chunk, std::vector<std::string>& out) {
  for (size_t i = 1; i + 1 < chunk.size(); ++i) {
    const char c = chunk[i], before = chunk[i - 1], after = chunk[i + 1];
    const bool separator =
        always_alone(c) || ((c == ',' || c == ':') && !(is_digit(before) && is_digit(after))) ||
        (c == '+' && is_alpha(before) && is_alpha(after)) || c == '?' || c == '!';
    if (!separator) continue;
    chunk_tokens(chunk.substr(0, i), out);
    size_t end = i + 1;
    if (c == '?' || c == '!')
      while (end < chunk.size() && (chunk[end] == '?' || chunk[end] == '!')) ++end;
    out.push_back(always_alone(c) ? bracket_token(c) : chunk.substr(i, end - i));
    chunk_tokens(chunk.substr(end), out);
    return;
  }
  word_tokens(chunk, out);
}

void chunk_tokens(std::string chunk, std::vector<std::string>& out) {
  if (chunk.empty()) return;
  // Leading punctuation.
  while (!chunk.empty()) {
    const char c = chunk[0];
    const bool digit_next = chunk.size() > 1 && is_digit(chunk[1]);
    if (c == '\'') {
      static const std::set<std::string> kKept = {"'s",  "'n'", "'cause", "'em", "'til",
                                                  "'re", "'ve", "'ll",    "'d",  "'m"};
      if (kKept.count(chunk)) return out.push_back(chunk);
      if (chunk.size() > 2 && is_digit(chunk[1]) && chunk.back() == 's' &&
          std::all_of(chunk.begin() + 1, chunk.end() - 1, is_digit))
        return out.push_back(chunk);  // '80s
      if (chunk.rfind("'tis", 0) == 0 || chunk.rfind("'twas", 0) == 0) {
        out.push_back("'t");
        chunk.erase(0, 2);
        continue;
      }
      out.push_back("`");
      chunk.erase(0, 1);
    } else if (always_alone(c) || c == '$' || c == '%' || (c == '#' && digit_next) || c == ',' ||
               c == ';' || c == ':' || (c == '&' && chunk.size() > 1 && !is_alnum(chunk[1]))) {
      out.push_back(bracket_token(c));
      chunk.erase(0, 1);
    } else if (c == '<') {
      if (chunk.size() > 2 && chunk.back() == '>' && chunk.find('<', 1) == std::string::npos)
        return out.push_back(chunk);
      out.push_back("<");
      chunk.erase(0, 1);
    } else if (c == '-' || c == '+') {
      if (digit_next) break;  // a signed number
      size_t run = 1;
      while (run < chunk.size() && chunk[run] == c) ++run;
      if (c == '+' && run == chunk.size()) return out.push_back(chunk);
      out.push_back(c == '-' && run >= 2 ? "--" : std::string(1, c));
      chunk.erase(0, c == '-' && run >= 2 ? run : 1);
    } else if (c == '.' || c == '?' || c == '!') {
      size_t run = 1;
      while (run < chunk.size() &&
             (chunk[run] == '.' ? c == '.' : c != '.' && (chunk[run] == '?' || chunk[run] == '!')))
        ++run;
      out.push_back(c == '.' ? (run >= 3 ? "..." : ".") : chunk.substr(0, run));
      chunk.erase(0, c == '.' && run == 2 ? 1 : run);
    } else {
      break;
    }
  }
  if (chunk.empty()) return;
  // Trailing punctuation, collected outside-in.
  std::vector<std::string> tail;
  while (!chunk.empty()) {
    const char c = chunk.back();
    if (c == '"' || c == ')' || c == ']' || c == '}' ||
        (always_alone(c) && c != '(' && c != '[' && c != '{')) {
      tail.push_back(c == '"' ? "''" : bracket_token(c));
      chunk.pop_back();
    } else if (c == '\'') {
      if (chunk == "'n'") break;
      tail.push_back("'");
      chunk.pop_back();
    } else if (c == ',' || c == ';' || c == ':' || c == '%' || c == '$') {
      tail.push_back(std::string(1, c));
      chunk.pop_back();
    } else if (c == '?' || c == '!') {
      size_t start = chunk.size() - 1;
      while (start > 0 && (chunk[start - 1] == '?' || chunk[start - 1] == '!')) --start;
      tail.push_back(chunk.substr(start));
      chunk.resize(start);
    } else if (c == '-' && chunk.size() > 1 && chunk[chunk.size() - 2] == '-') {
      tail.push_back("--");
      chunk.resize(chunk.size() - 2);
    } else if (c == '.') {
      size_t start = chunk.size() - 1;
      while (start > 0 && chunk[start - 1] == '.') --start;
      const size_t run = chunk.size() - start;
      if (run >= 2) {
        tail.push_back(run >= 3 ? "..." : ".");
        if (run == 2) tail.push_back(".");
        chunk.resize(start);
        continue;
      }
      const std::string base = chunk.substr(0, chunk.size() - 1);
      if (!base.empty() && abbreviation(base)) break;  // kept whole, with its period
      tail.push_back(".");
      chunk.pop_back();
    } else {
      break;
    }
  }
  split_inner(chunk, out);
  out.insert(out.end(), tail.rbegin(), tail.rend());
}

}  // namespace

std::vector<std::string> caption_tokens(const std::string& text) {
  static const std::set<std::string> kPunctuation = {"''", "'", "``", "`",  ".",   "?", "!",
                                                     ",",  ":", "-",  "--", "...", ";"};
  std::vector<std::string> tokens;
  for (const auto& chunk : split_whitespace(normalise(text))) chunk_tokens(chunk, tokens);
  std::vector<std::string> kept;
  for (auto& t : tokens)
    if (!t.empty() && !kPunctuation.count(t)) kept.push_back(std::move(t));
  return kept;
}

}  // namespace seqlab
