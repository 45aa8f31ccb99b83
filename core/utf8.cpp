#include "core/utf8.h"

#include "core/error.h"

namespace seqlab {
namespace {

// Length of the valid sequence starting at text[i], or 0 when it is invalid (RFC 3629).
size_t sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t length;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t length = sequence_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

void require_utf8(std::string_view text, const std::string& where) {
  size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos)
    throw InputError(where + ": invalid UTF-8 at byte " + std::to_string(bad + 1) +
                     " (expected UTF-8 text)");
}

std::vector<std::string> utf8_chars(std::string_view text) {
  std::vector<std::string> chars;
  size_t i = 0;
  while (i < text.size()) {
    size_t length = sequence_length(text, i);
    if (length == 0) length = 1;  // callers validate first; never loop forever
    chars.emplace_back(text.substr(i, length));
    i += length;
  }
  return chars;
}

std::u32string utf8_decode(std::string_view text) {
  std::u32string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t length = sequence_length(text, i);
    auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[k])); };
    switch (length) {
      case 1:
        out.push_back(b(i));
        break;
      case 2:
        out.push_back(((b(i) & 0x1F) << 6) | (b(i + 1) & 0x3F));
        break;
      case 3:
        out.push_back(((b(i) & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F));
        break;
      case 4:
        out.push_back(((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
                      (b(i + 3) & 0x3F));
        break;
      default:
        out.push_back(0xFFFD);
        length = 1;
    }
    i += length;
  }
  return out;
}

std::string utf8_encode(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

bool is_punctuation(char32_t c) {
  if (c < 0x80)
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
  if (c >= 0xA1 && c <= 0xBF)
    return c != 0xAA && c != 0xB2 && c != 0xB3 && c != 0xB5 && c != 0xB9 && c != 0xBA &&
           (c < 0xBC || c == 0xBF);
  if (c == 0xD7 || c == 0xF7) return true;
  return (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) ||
         (c >= 0x3000 && c <= 0x303F);
}

bool is_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 ||
         c == 0x202F || c == 0x2009 || c == 0x200A || c == 0x2007 || c == 0x3000;
}

}  // namespace seqlab
