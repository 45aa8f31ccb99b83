// data/image_decode.cpp: PNG (libpng) and JPEG (TurboJPEG) files, transparency, and resizing
// (stb_image_resize, compiled into this harness with the sanitizers).
#include <cstdlib>

#include "data/image_decode.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seqlab::ImageOptions options;
  options.size = 16;
  options.channels = size % 2 ? 1 : 3;
  options.max_pixels = 1 << 20;  // what a fuzzer can decode quickly; the check is the same
  return seqlab::fuzz::expect_input_errors_only([&] {
    const auto image = seqlab::decode_image_pixels(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz.png", options);
    if (image.pixels.size() != size_t(16 * 16 * image.channels)) std::abort();
  });
}
