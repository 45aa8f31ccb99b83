// data/idx.cpp: IDX (MNIST) headers; the shape it returns always describes the bytes that follow.
#include <cstdlib>

#include "data/idx.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return seqlab::fuzz::expect_input_errors_only([&] {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto array = seqlab::parse_idx(bytes, "fuzz.idx");
    size_t total = 1;
    for (int64_t n : array.shape) total *= static_cast<size_t>(n);
    if (array.data_offset + total != bytes.size()) std::abort();
  });
}
