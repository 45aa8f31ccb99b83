#include "data/image_decode.h"

#include <limits>
#include <memory>

#include <fmt/format.h>
#include <png.h>
#include <stb_image_resize.h>
#include <turbojpeg.h>

#include "core/error.h"

namespace seqlab {
namespace {

const std::string kPngSignature = "\x89PNG\r\n\x1a\n";

bool is_png(const std::string& bytes) { return bytes.compare(0, 8, kPngSignature) == 0; }
bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
         static_cast<uint8_t>(bytes[1]) == 0xD8 && static_cast<uint8_t>(bytes[2]) == 0xFF;
}

}  // namespace

DecodedImage decode_image_pixels(const std::string& bytes, const std::string& name,
                                 const ImageOptions& options) {
  if (bytes.empty())
    throw InputError(fmt::format("{}: empty file, expected a PNG or JPEG image", name));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw InputError(
        fmt::format("{}: {} bytes is larger than an image file can be", name, bytes.size()));
  if (!is_png(bytes) && !is_jpeg(bytes))
    throw InputError(fmt::format(
        "{}: not a PNG or JPEG file (no PNG or JPEG signature at its start); seqlab reads "
        "only those two formats",
        name));
  int width = 0, height = 0;
  auto check_size = [&](double w, double h) {
    if (w <= 0 || h <= 0)
      throw InputError(fmt::format(
          "{}: the header announces {} x {} pixels; an image needs at least one pixel each "
          "way",
          name, w, h));
    if (w * h > static_cast<double>(options.max_pixels))
      throw InputError(
          fmt::format("{}: the header announces {} x {} pixels, more than the limit of {} "
                      "(data.image_max_pixels)",
                      name, w, h, options.max_pixels));
  };
  // The header alone first (its claimed size is checked before anything is allocated), then the
  // pixels as RGBA or grey + alpha: PNG through libpng's simplified API, JPEG through TurboJPEG,
  // both fuzzed upstream (OSS-Fuzz). stb_image, which seqlab used before, read out of bounds on
  // a crafted JPEG Huffman table (found by fuzz/image_fuzzer.cpp).
  const int want = options.channels == 1 ? 2 : 4;
  std::vector<unsigned char> pixels;
  if (is_png(bytes)) {
    // The size is in the first chunk: checked here so that an absurd or empty size is named as
    // such (libpng refuses those too, with a vaguer message).
    if (bytes.size() < 24)
      throw InputError(fmt::format("{}: a PNG file cut off before its header chunk", name));
    auto be32 = [&](size_t at) {
      return (uint64_t(uint8_t(bytes[at])) << 24) | (uint64_t(uint8_t(bytes[at + 1])) << 16) |
             (uint64_t(uint8_t(bytes[at + 2])) << 8) | uint64_t(uint8_t(bytes[at + 3]));
    };
    check_size(double(be32(16)), double(be32(20)));
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()))
      throw InputError(fmt::format("{}: not a readable PNG image ({})", name, png.message));
    width = static_cast<int>(png.width);
    height = static_cast<int>(png.height);
    try {
      check_size(png.width, png.height);
    } catch (...) {
      png_image_free(&png);
      throw;
    }
    // Always RGBA: libpng's own grey conversion works in linear light; seqlab's grey is the
    // integer luma (77 r + 150 g + 29 b) / 256 it has always used.
    png.format = PNG_FORMAT_RGBA;
    std::vector<unsigned char> rgba(PNG_IMAGE_SIZE(png));
    if (!png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr))
      throw InputError(fmt::format("{}: corrupt or truncated PNG image ({})", name, png.message));
    if (want == 4) {
      pixels = std::move(rgba);
    } else {
      pixels.resize(rgba.size() / 2);
      for (size_t p = 0, n = rgba.size() / 4; p < n; ++p) {
        pixels[2 * p] = static_cast<unsigned char>(
            (rgba[4 * p] * 77 + rgba[4 * p + 1] * 150 + rgba[4 * p + 2] * 29) >> 8);
        pixels[2 * p + 1] = rgba[4 * p + 3];
      }
    }
  } else {
    std::unique_ptr<void, int (*)(tjhandle)> jpeg(tjInitDecompress(), tjDestroy);
    if (!jpeg) throw Error("TurboJPEG: cannot start a decompressor");
    int subsampling = 0, colorspace = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto length = static_cast<unsigned long>(bytes.size());
    if (tjDecompressHeader3(jpeg.get(), data, length, &width, &height, &subsampling, &colorspace) !=
        0)
      throw InputError(
          fmt::format("{}: not a readable JPEG image ({})", name, tjGetErrorStr2(jpeg.get())));
    check_size(width, height);
    // Decoded as RGB or grey, then given an opaque alpha (a JPEG has none).
    const int channels = want == 4 ? 3 : 1;
    std::vector<unsigned char> decoded(static_cast<size_t>(width) * static_cast<size_t>(height) *
                                       channels);
    // A warning (a truncated file, a corrupt segment) stops too: a half-decoded image is garbage.
    if (tjDecompress2(jpeg.get(), data, length, decoded.data(), width, 0, height,
                      want == 4 ? TJPF_RGB : TJPF_GRAY,
                      TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0)
      throw InputError(fmt::format("{}: corrupt or truncated JPEG image ({})", name,
                                   tjGetErrorStr2(jpeg.get())));
    pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * want);
    for (size_t p = 0, n = static_cast<size_t>(width) * static_cast<size_t>(height); p < n; ++p) {
      for (int c = 0; c < channels; ++c) pixels[p * want + c] = decoded[p * channels + c];
      pixels[p * want + channels] = 255;
    }
  }
  // Composite onto white, so transparent emoji backgrounds are white rather than whatever colour
  // their transparent pixels hold.
  const int colour = want - 1;
  std::vector<unsigned char> flat(static_cast<size_t>(width) * static_cast<size_t>(height) *
                                  colour);
  for (size_t p = 0, n = static_cast<size_t>(width) * static_cast<size_t>(height); p < n; ++p) {
    const int alpha = pixels[p * want + colour];
    for (int c = 0; c < colour; ++c)
      flat[p * colour + c] = static_cast<unsigned char>(
          (pixels[p * want + c] * alpha + 255 * (255 - alpha) + 127) / 255);
  }
  const int size = static_cast<int>(options.size);
  DecodedImage image;
  image.channels = colour;
  image.pixels.resize(static_cast<size_t>(size) * size * colour);
  if (width == size && height == size) {
    image.pixels = std::move(flat);
  } else if (!stbir_resize_uint8(flat.data(), width, height, 0, image.pixels.data(), size, size, 0,
                                 colour)) {
    throw InputError(
        fmt::format("{}: cannot resize {} x {} to {} x {}", name, width, height, size, size));
  }
  return image;
}

}  // namespace seqlab
