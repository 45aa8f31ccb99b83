#include "models/vision/vision.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/tensor_file.h"
#include "core/trust.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("model.vision.width", 32,
                "image encoders: channels of the first stage (the standard ResNets: 64)")
            .range(1, 4096)) &&
    ConfigSchema::global().add(
        key_int("model.vision.dim", 0,
                "image encoders: output width of each region; 0 = the backbone's")
            .range(0, 65536)) &&
    ConfigSchema::global().add(
        key_int("model.vision.layers", 3, "cnn: stages of two 3x3 convolutions and a 2x2 max-pool")
            .range(1, 8)) &&
    ConfigSchema::global().add(
        key_string("model.vision.normalize", "imagenet",
                   "pixel normalisation: imagenet (mean/std of ImageNet, what "
                   "pretrained CNNs expect) or unit ([0, 1])")
            .one_of({"imagenet", "unit"})) &&
    ConfigSchema::global().add(
        key_string("model.vision.stem", "small",
                   "resnet: small (3x3 stride 1, for small images) or imagenet "
                   "(7x7 stride 2 and max-pool)")
            .one_of({"small", "imagenet"})) &&
    ConfigSchema::global().add(
        key_int("model.vision.patch_size", 8, "patch: pixels per patch side").range(1, 1024)) &&
    ConfigSchema::global().add(
        key_string("model.vision.pretrained", "",
                   "cnn/resnet: start the backbone from this file: its weights "
                   "as .safetensors (no code), or a TorchScript module (images "
                   "-> feature map) or torch state dict, which are code that "
                   "runs when loaded and need --trust-code")) &&
    ConfigSchema::global().add(
        key_string("model.vision.positions", "none",
                   "cnn/resnet: none, or sinusoidal: add a fixed 2-D position to "
                   "every region (as DETR does), so a decoder attending to a "
                   "region knows where it is; the mean summary only shifts by a "
                   "constant")
            .one_of({"none", "sinusoidal"})) &&
    ConfigSchema::global().add(key_bool("model.vision.freeze", false,
                                        "keep the (pretrained) backbone fixed: no gradients, "
                                        "BatchNorm statistics kept"));

}  // namespace

VisionSettings::VisionSettings(const Config& config)
    : channels(config.get_int("data.image_channels")),
      image_size(config.get_int("data.image_size")),
      width(config.get_int("model.vision.width")),
      dim(config.get_int("model.vision.dim")),
      normalize(config.get_string("model.vision.normalize")),
      stem(config.get_string("model.vision.stem")),
      pretrained(config.get_string("model.vision.pretrained")),
      freeze(config.get_bool("model.vision.freeze")),
      positions(config.get_string("model.vision.positions")) {}

torch::Tensor sinusoidal_2d(int64_t height, int64_t width, int64_t dim,
                            const torch::TensorOptions& options) {
  const int64_t half = dim / 2, quarter = half / 2;
  const auto floats = torch::TensorOptions().dtype(torch::kFloat).device(options.device());
  const auto longs = floats.dtype(torch::kLong);
  auto frequencies = torch::exp(torch::arange(quarter, floats) *
                                (-std::log(10000.0) / double(std::max<int64_t>(1, quarter))));
  auto encode = [&](const torch::Tensor& positions) {  // [N] -> [N, 2 * quarter]
    auto angles = positions.to(torch::kFloat).unsqueeze(1) * frequencies.unsqueeze(0);
    return torch::cat({angles.sin(), angles.cos()}, 1);
  };
  auto rows = torch::arange(height, longs).repeat_interleave(width);
  auto cols = torch::arange(width, longs).repeat({height});
  auto table = torch::zeros({height * width, dim}, floats);
  table.narrow(1, 0, 2 * quarter).copy_(encode(rows));
  table.narrow(1, half, 2 * quarter).copy_(encode(cols));
  return table.to(options.dtype());
}

torch::Tensor normalise_pixels(const torch::Tensor& images, const std::string& mode) {
  if (images.dim() != 4)
    throw InputError(fmt::format("image encoder: expected images [B, C, H, W], got {} dimensions",
                                 images.dim()));
  auto x = images.to(torch::kFloat) / 255.0;
  if (mode == "unit") return x;
  const int64_t channels = x.size(1);
  auto options = torch::TensorOptions().device(x.device());
  auto mean = channels == 3 ? torch::tensor({0.485, 0.456, 0.406}, options)
                            : torch::tensor({0.449}, options);
  auto std = channels == 3 ? torch::tensor({0.229, 0.224, 0.225}, options)
                           : torch::tensor({0.226}, options);
  return (x - mean.view({1, -1, 1, 1})) / std.view({1, -1, 1, 1});
}

Memory memory_from_grid(const torch::Tensor& features) {
  auto grid =
      features.dim() == 2 ? features.unsqueeze(-1).unsqueeze(-1) : features;  // pooled -> 1x1
  if (grid.dim() != 4)
    throw InputError(
        fmt::format("image encoder: the backbone gave {} dimensions, expected a feature map "
                    "[B, D, h, w]",
                    features.dim()));
  const int64_t batch = grid.size(0), height = grid.size(2), width = grid.size(3);
  auto states = grid.flatten(2).transpose(1, 2).contiguous();  // [B, h*w, D]
  auto mask =
      torch::ones({batch, height * width}, torch::dtype(torch::kBool).device(grid.device()));
  Memory memory{states, mask, states.mean(1)};
  memory.grid_height = height;
  memory.grid_width = width;
  return memory;
}

struct ConvImageEncoderImpl::Scripted {
  torch::jit::Module module;
};

ConvImageEncoderImpl::~ConvImageEncoderImpl() = default;

ConvImageEncoderImpl::ConvImageEncoderImpl(const ModelContext& context,
                                           std::shared_ptr<BackboneImpl> backbone)
    : settings_(context.config) {
  int64_t features = backbone->features();
  if (!settings_.pretrained.empty()) {
    const std::string& path = settings_.pretrained;
    if (!fs::exists(path))
      throw InputError(fmt::format("model.vision.pretrained: {} not found", path));
    if (!looks_like_torchscript_archive(path)) {
      // The backbone's weights by name, as safetensors: checked against the backbone, no code.
      load_module_tensors(*backbone, TensorFile(path));
    } else {
      // A TorchScript file replaces the backbone; anything else must be the backbone's state dict
      // (torch::save writes state dicts as TorchScript archives too, but without a forward
      // method). Either way the archive is a program that runs when loaded.
      CodeTrust::require("model.vision.pretrained: " + path,
                         "a TorchScript module or torch state dict");
      bool scripted = false;
      try {
        auto module = torch::jit::load(path);
        if (module.find_method("forward")) {
          scripted_ = std::make_unique<Scripted>(Scripted{module});
          scripted = true;
        }
      } catch (const c10::Error&) {
      }
      if (scripted) {
        scripted_->module.eval();
        int64_t i = 0;
        for (const auto& parameter : scripted_->module.named_parameters(/*recurse=*/true)) {
          auto name = parameter.name;
          std::replace(name.begin(), name.end(), '.', '_');
          register_parameter(fmt::format("pretrained_{}_{}", i++, name), parameter.value,
                             !settings_.freeze);
        }
        torch::NoGradGuard no_grad;
        auto probe =
            torch::zeros({1, settings_.channels, settings_.image_size, settings_.image_size});
        auto out = scripted_->module.forward({probe}).toTensor();
        if (out.dim() != 4 && out.dim() != 2)
          throw InputError(fmt::format(
              "model.vision.pretrained: {} maps a [1, {}, {}, {}] image to {} dimensions; "
              "expected a feature map [B, D, h, w] (or pooled [B, D])",
              path, settings_.channels, settings_.image_size, settings_.image_size, out.dim()));
        features = out.size(1);
      } else {
        try {
          torch::serialize::InputArchive archive;
          archive.load_from(path);
          backbone->load(archive);
        } catch (const c10::Error& e) {
          std::string what = e.what();
          throw InputError(
              fmt::format("model.vision.pretrained: {} is neither a TorchScript module nor a "
                          "state dict of this backbone ({})",
                          path, what.substr(0, what.find('\n'))));
        }
      }
    }
  }
  if (!scripted_) backbone_ = register_module("backbone", backbone);
  if (settings_.freeze) {
    if (backbone_)
      for (auto& p : backbone_->parameters()) p.set_requires_grad(false);
  }
  output_dim_ = settings_.dim > 0 ? settings_.dim : features;
  if (settings_.dim > 0)
    projection_ = register_module(
        "projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(features, settings_.dim, 1)));
}

void ConvImageEncoderImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (settings_.freeze && backbone_) backbone_->eval();
}

torch::Tensor ConvImageEncoderImpl::backbone_features(const torch::Tensor& pixels) {
  if (scripted_) {
    if (settings_.freeze) {
      torch::NoGradGuard no_grad;
      return scripted_->module.forward({pixels}).toTensor();
    }
    return scripted_->module.forward({pixels}).toTensor();
  }
  if (settings_.freeze) {
    torch::NoGradGuard no_grad;
    return backbone_->forward(pixels);
  }
  return backbone_->forward(pixels);
}

Memory ConvImageEncoderImpl::forward(const Source& source) {
  auto pixels = normalise_pixels(source.images, settings_.normalize);
  if (pixels.size(1) != settings_.channels)
    throw InputError(
        fmt::format("image encoder: images have {} channels, the model was built for {} "
                    "(data.image_channels)",
                    pixels.size(1), settings_.channels));
  auto features = backbone_features(pixels);
  if (features.dim() == 2) features = features.unsqueeze(-1).unsqueeze(-1);
  if (projection_) features = projection_(features);
  if (settings_.positions == "sinusoidal") {
    const int64_t dim = features.size(1), height = features.size(2), width = features.size(3);
    features =
        features +
        sinusoidal_2d(height, width, dim, features.options()).t().reshape({1, dim, height, width});
  }
  return memory_from_grid(features);
}

}  // namespace seqlab
