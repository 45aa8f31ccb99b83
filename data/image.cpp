#include "data/image.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <stb_image_write.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/progress.h"
#include "core/random.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("data.image_size", 64, "captioning: images are resized to N x N pixels")
            .range(8, 4096)) &&
    ConfigSchema::global().add(
        key_int("data.image_channels", 3, "captioning: 3 = RGB, 1 = grey").range(1, 3)) &&
    ConfigSchema::global().add(
        key_bool("data.skip_bad_images", false,
                 "captioning: skip (and count) missing, corrupt or oversized "
                 "images instead of stopping with an error")) &&
    ConfigSchema::global().add(
        key_int("data.image_max_pixels", 50'000'000,
                "captioning: largest width x height a file's header may announce")
            .range(1, 1e12)) &&
    ConfigSchema::global().add(
        key_int("data.image_cache_mb", 4096,
                "captioning: a split's decoded images must fit in this many MB")
            .range(1, 1e9)) &&
    ConfigSchema::global().add(
        key_int("data.augment.shift", 0,
                "captioning: random translation by up to N pixels while training")
            .range(0, 4096)) &&
    ConfigSchema::global().add(
        key_bool("data.augment.flip", false,
                 "captioning: random horizontal flips while training (they swap "
                 "left and right: not for captions that name sides)")) &&
    ConfigSchema::global().add(
        key_number("data.augment.brightness", 0.0,
                   "captioning: random brightness factor in [1-b, 1+b] while training")
            .range(0, 1));

}  // namespace

ImageOptions ImageOptions::from_config(const Config& config) {
  ImageOptions options;
  options.size = config.get_int("data.image_size");
  options.channels = config.get_int("data.image_channels");
  options.skip_bad = config.get_bool("data.skip_bad_images");
  options.max_pixels = config.get_int("data.image_max_pixels");
  options.cache_megabytes = config.get_int("data.image_cache_mb");
  if (options.channels == 2) throw InputError("data.image_channels must be 1 (grey) or 3 (RGB)");
  return options;
}

AugmentOptions AugmentOptions::from_config(const Config& config) {
  AugmentOptions options;
  options.shift = config.get_int("data.augment.shift");
  options.flip = config.get_bool("data.augment.flip");
  options.brightness = config.get_number("data.augment.brightness");
  return options;
}

torch::Tensor decode_image(const std::string& bytes, const std::string& name,
                           const ImageOptions& options) {
  DecodedImage image = decode_image_pixels(bytes, name, options);
  const auto size = static_cast<int64_t>(options.size);
  auto hwc = torch::from_blob(image.pixels.data(), {size, size, image.channels}, torch::kUInt8);
  // clone(), not contiguous(): for one channel the permuted view is already contiguous, and
  // contiguous() would hand back a view of `pixels`, which dies with this function.
  return hwc.permute({2, 0, 1}).clone(at::MemoryFormat::Contiguous);  // [C, H, W], owns its memory
}

torch::Tensor load_image(const std::string& path, const ImageOptions& options) {
  if (!fs::exists(path)) throw InputError(fmt::format("{}: image file not found", path));
  std::error_code error;
  auto bytes = fs::file_size(path, error);
  if (!error && bytes > static_cast<uintmax_t>(std::numeric_limits<int>::max()))
    throw InputError(fmt::format("{}: {} bytes is larger than an image file can be", path, bytes));
  return decode_image(read_file(path), path, options);
}

ImageSet load_images(const std::vector<std::string>& paths, const ImageOptions& options) {
  const double megabytes = static_cast<double>(paths.size()) *
                           static_cast<double>(options.channels) *
                           static_cast<double>(options.size * options.size) / 1e6;
  if (megabytes > static_cast<double>(options.cache_megabytes))
    throw InputError(
        fmt::format("{} images of {} x {} take {:.0f} MB decoded, more than data.image_cache_mb "
                    "= {}: lower data.image_size or raise the limit",
                    paths.size(), options.size, options.size, megabytes, options.cache_megabytes));
  ImageSet set;
  std::vector<torch::Tensor> decoded;
  decoded.reserve(paths.size());
  std::optional<Progress> progress;  // only worth a line for large sets
  if (paths.size() >= 2000)
    progress.emplace("decoding images", static_cast<int64_t>(paths.size()), "img");
  for (const auto& path : paths) {
    try {
      decoded.push_back(load_image(path, options));
      set.paths.push_back(path);
    } catch (const InputError& e) {
      if (!options.skip_bad) throw;
      set.skipped.push_back(e.what());
    }
    if (progress) progress->advance();
  }
  if (progress) progress->finish();
  set.pixels = decoded.empty()
                   ? torch::empty({0, options.channels, options.size, options.size}, torch::kUInt8)
                   : torch::stack(decoded);
  return set;
}

torch::Tensor augment_images(const torch::Tensor& images, const std::vector<int64_t>& indices,
                             uint64_t seed, int64_t epoch, const AugmentOptions& options) {
  if (!options.any()) return images;
  auto out = images.clone();
  const int64_t height = images.size(2), width = images.size(3);
  for (int64_t b = 0; b < images.size(0); ++b) {
    // One generator per (seed, epoch, example): the same pixels whatever the batch layout.
    Rng rng(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch + 1)) ^
            (0xbf58476d1ce4e5b9ULL * static_cast<uint64_t>(indices[static_cast<size_t>(b)] + 1)));
    auto image = images[b];
    if (options.shift > 0) {
      const auto span = static_cast<uint64_t>(2 * options.shift + 1);
      const int64_t dy = static_cast<int64_t>(rng.below(span)) - options.shift;
      const int64_t dx = static_cast<int64_t>(rng.below(span)) - options.shift;
      auto rows = (torch::arange(height) - dy).clamp(0, height - 1);
      auto cols = (torch::arange(width) - dx).clamp(0, width - 1);
      image = image.index_select(1, rows).index_select(2, cols);
    }
    if (options.flip && rng.below(2) == 1) image = image.flip({2});
    if (options.brightness > 0) {
      const double factor = 1.0 + options.brightness * (2.0 * rng.uniform() - 1.0);
      image = (image.to(torch::kFloat) * factor).round().clamp(0, 255).to(torch::kUInt8);
    }
    out[b].copy_(image);
  }
  return out;
}

void save_png(const std::string& path, const torch::Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    throw Error("save_png: expected [C, H, W] with C = 1 or 3");
  auto hwc = image.to(torch::kCPU, torch::kUInt8).permute({1, 2, 0}).contiguous();
  const int channels = static_cast<int>(hwc.size(2));
  const int height = static_cast<int>(hwc.size(0)), width = static_cast<int>(hwc.size(1));
  write_atomic_with(path, [&](const std::string& tmp) {
    if (!stbi_write_png(tmp.c_str(), width, height, channels, hwc.data_ptr<uint8_t>(),
                        width * channels))
      throw Error("cannot write PNG " + tmp);
  });
}

}  // namespace seqlab
