// UTF-8 validation and iteration. Corpus readers validate every line so that bad bytes are reported
// with file, line and column instead of turning into garbage tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace seqlab {

// Byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and code points
// above U+10FFFF are invalid), or std::string_view::npos when `text` is valid.
size_t find_invalid_utf8(std::string_view text);

// Throws InputError "<where>: invalid UTF-8 at byte N" when `text` is not valid UTF-8.
void require_utf8(std::string_view text, const std::string& where);

// Splits valid UTF-8 into code points (each as its own UTF-8 string).
std::vector<std::string> utf8_chars(std::string_view text);

// Decodes valid UTF-8 to code points, and back.
std::u32string utf8_decode(std::string_view text);
std::string utf8_encode(char32_t code_point);

// Unicode-aware classification for the word tokenizer (ASCII plus the Latin-1/general
// punctuation blocks that appear in European text: « » ¿ ¡ – — … “ ” ‘ ’).
bool is_punctuation(char32_t c);
bool is_space(char32_t c);

}  // namespace seqlab
