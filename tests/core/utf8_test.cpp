#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/utf8.h"

using seqlab::find_invalid_utf8;
constexpr auto npos = std::string_view::npos;

TEST_CASE("valid UTF-8 with accents and symbols passes") {
  CHECK(find_invalid_utf8("Größe ändern, élève, naïve — « déjà » €") == npos);
  CHECK(find_invalid_utf8("\xF0\x9F\x98\x80 emoji") == npos);
  CHECK(find_invalid_utf8("") == npos);
}

TEST_CASE("invalid UTF-8 is found at its byte offset") {
  CHECK(find_invalid_utf8("abc\xFF") == 3);            // never valid
  CHECK(find_invalid_utf8("ab\xC3") == 2);             // truncated sequence
  CHECK(find_invalid_utf8("a\xC0\xAF") == 1);          // overlong '/'
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);       // UTF-16 surrogate
  CHECK(find_invalid_utf8("x\xF4\x90\x80\x80") == 1);  // above U+10FFFF
  CHECK(find_invalid_utf8("caf\xE9") == 3);            // Latin-1, not UTF-8
  CHECK_THROWS_WITH(seqlab::require_utf8("caf\xE9", "corpus.tsv:12"),
                    Catch::Matchers::Contains("corpus.tsv:12: invalid UTF-8 at byte 4"));
}

TEST_CASE("code points split, decode and encode consistently") {
  auto chars = seqlab::utf8_chars("déjà");
  REQUIRE(chars.size() == 4);
  CHECK(chars[1] == "é");
  auto decoded = seqlab::utf8_decode("ß€😀");
  REQUIRE(decoded.size() == 3);
  CHECK(decoded[0] == 0xDF);
  CHECK(decoded[1] == 0x20AC);
  CHECK(decoded[2] == 0x1F600);
  std::string back;
  for (char32_t c : decoded) back += seqlab::utf8_encode(c);
  CHECK(back == "ß€😀");
}
