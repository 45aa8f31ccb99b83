// core/safetensors.cpp: the header of a weights or checkpoint file; every range it accepts lies
// inside the file.
#include <cstdlib>

#include "core/safetensors.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto header = seqlab::parse_safetensors_header(bytes, bytes.size(), "fuzz.safetensors");
    for (const auto& [name, entry] : header.tensors)
      if (header.data_offset + entry.end > bytes.size() || entry.begin > entry.end) std::abort();
  });
}
