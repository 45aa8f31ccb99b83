// Image files to pixels, without torch: the part of image loading that reads untrusted bytes, kept
// apart so it can be fuzzed (fuzz/image_fuzzer.cpp). Only PNG (libpng) and JPEG (TurboJPEG) are
// accepted, recognised by their signatures; the size the header announces is checked before
// anything is allocated. (stb_image, used before, also decoded BMP, GIF, PSD, TGA, HDR, PIC and
// PNM, and read out of bounds on a crafted JPEG.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

struct ImageOptions {
  int64_t size = 64;     // output is size x size (stretched, as Show and Tell does)
  int64_t channels = 3;  // 3 = RGB, 1 = grey; transparency is composited onto white
  int64_t max_pixels =
      50'000'000;         // width x height announced by the header, checked before decoding
  bool skip_bad = false;  // skip (and count) bad images instead of failing
  int64_t cache_megabytes = 4096;  // the decoded split must fit in this many MB
  static ImageOptions from_config(const Config& config);  // data.image_* keys (data/image.cpp)
};

struct DecodedImage {
  int64_t channels = 3;         // 1 (grey) or 3 (RGB), as options.channels asks
  std::vector<uint8_t> pixels;  // options.size x options.size x channels, row-major (HWC)
};

// Decodes, composites transparency onto white and resizes to options.size x options.size.
// InputError naming `name` for an empty, unknown, oversized, zero-sized, corrupt or truncated file.
DecodedImage decode_image_pixels(const std::string& bytes, const std::string& name,
                                 const ImageOptions& options);

}  // namespace seqlab
