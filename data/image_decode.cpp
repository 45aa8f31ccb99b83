#include "data/image_decode.h"

#include <limits>

#include <fmt/format.h>
#include <stb_image.h>
#include <stb_image_resize.h>

#include "core/error.h"

namespace seqlab {
namespace {

const std::string kPngSignature = "\x89PNG\r\n\x1a\n";

bool is_png(const std::string& bytes) { return bytes.compare(0, 8, kPngSignature) == 0; }
bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8 &&
         static_cast<uint8_t>(bytes[2]) == 0xFF;
}

}  // namespace

DecodedImage decode_image_pixels(const std::string& bytes, const std::string& name, const ImageOptions& options) {
  if (bytes.empty()) throw InputError(fmt::format("{}: empty file, expected a PNG or JPEG image", name));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw InputError(fmt::format("{}: {} bytes is larger than an image file can be", name, bytes.size()));
  if (!is_png(bytes) && !is_jpeg(bytes))
    throw InputError(fmt::format("{}: not a PNG or JPEG file (no PNG or JPEG signature at its start); seqlab reads "
                                 "only those two formats",
                                 name));
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, components = 0;
  auto check_size = [&](double w, double h) {
    if (w <= 0 || h <= 0)
      throw InputError(fmt::format("{}: the header announces {} x {} pixels; an image needs at least one pixel each "
                                   "way",
                                   name, w, h));
    if (w * h > static_cast<double>(options.max_pixels))
      throw InputError(fmt::format("{}: the header announces {} x {} pixels, more than the limit of {} "
                                   "(data.image_max_pixels)", name, w, h, options.max_pixels));
  };
  // A PNG's size is in its first chunk: checked here so that an absurd or empty size is named as
  // such (stb refuses what would overflow, but with a vaguer message).
  if (is_png(bytes)) {
    if (bytes.size() < 24) throw InputError(fmt::format("{}: a PNG file cut off before its header chunk", name));
    auto be32 = [&](size_t at) {
      return (uint64_t(uint8_t(bytes[at])) << 24) | (uint64_t(uint8_t(bytes[at + 1])) << 16) |
             (uint64_t(uint8_t(bytes[at + 2])) << 8) | uint64_t(uint8_t(bytes[at + 3]));
    };
    check_size(double(be32(16)), double(be32(20)));
  }
  // The header alone first: its claimed size is checked before anything is allocated.
  if (!stbi_info_from_memory(data, length, &width, &height, &components))
    throw InputError(fmt::format("{}: not a readable image ({}); expected PNG or JPEG", name,
                                 stbi_failure_reason() ? stbi_failure_reason() : "unknown format"));
  check_size(width, height);
  // Decode as RGBA (or grey + alpha) and composite onto white, so transparent emoji backgrounds
  // are white rather than whatever colour their transparent pixels hold.
  const int want = options.channels == 1 ? 2 : 4;
  stbi_uc* pixels = stbi_load_from_memory(data, length, &width, &height, &components, want);
  if (!pixels)
    throw InputError(fmt::format("{}: corrupt or truncated image ({})", name,
                                 stbi_failure_reason() ? stbi_failure_reason() : "decoding failed"));
  const int colour = want - 1;
  std::vector<unsigned char> flat(static_cast<size_t>(width) * static_cast<size_t>(height) * colour);
  for (size_t p = 0, n = static_cast<size_t>(width) * static_cast<size_t>(height); p < n; ++p) {
    const int alpha = pixels[p * want + colour];
    for (int c = 0; c < colour; ++c)
      flat[p * colour + c] = static_cast<unsigned char>((pixels[p * want + c] * alpha + 255 * (255 - alpha) + 127) / 255);
  }
  stbi_image_free(pixels);
  const int size = static_cast<int>(options.size);
  DecodedImage image;
  image.channels = colour;
  image.pixels.resize(static_cast<size_t>(size) * size * colour);
  if (width == size && height == size) {
    image.pixels = std::move(flat);
  } else if (!stbir_resize_uint8(flat.data(), width, height, 0, image.pixels.data(), size, size, 0, colour)) {
    throw InputError(fmt::format("{}: cannot resize {} x {} to {} x {}", name, width, height, size, size));
  }
  return image;
}

}  // namespace seqlab
