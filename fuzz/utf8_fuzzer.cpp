// core/utf8.cpp: validation, splitting, decoding; valid text decodes and encodes back to itself.
#include <cstdlib>

#include "core/utf8.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return seqlab::fuzz::expect_input_errors_only([&] {
    const bool valid = seqlab::find_invalid_utf8(text) == std::string::npos;
    try {
      seqlab::require_utf8(text, "input");
      if (!valid) std::abort();  // the two checks disagree
    } catch (const seqlab::InputError&) {
      if (valid) std::abort();
      return;
    }
    std::string joined;
    for (const auto& c : seqlab::utf8_chars(text)) joined += c;
    if (joined != text) std::abort();
    std::string encoded;
    for (char32_t c : seqlab::utf8_decode(text)) {
      encoded += seqlab::utf8_encode(c);
      (void)seqlab::is_punctuation(c);
      (void)seqlab::is_space(c);
    }
    if (encoded != text) std::abort();
  });
}
