// core/base64.cpp: decoding any text; what decodes must encode back to the canonical text.
#include <cstdlib>

#include "core/base64.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string bytes = seqlab::base64_decode(text, "input");
    if (seqlab::base64_decode(seqlab::base64_encode(bytes), "again") != bytes) std::abort();
  });
}
