// The convolutional image encoders: a small VGG-style CNN and ResNet-18/34 (He et al. 2016,
// BasicBlocks with identity or 1x1-projection shortcuts), written with LibTorch modules.
#include <torch/torch.h>

#include "models/vision/vision.h"

namespace seqlab {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// Stages of [3x3 conv, BN, ReLU] x 2 then a 2x2 max-pool; widths double per stage. A 64-pixel
// image gives an 8 x 8 grid with 3 stages.
class SmallCnnImpl : public BackboneImpl {
 public:
  explicit SmallCnnImpl(const VisionSettings& s, int64_t layers) {
    int64_t in = s.channels;
    stages_ = register_module("stages", nn::Sequential());
    for (int64_t i = 0; i < layers; ++i) {
      const int64_t out = s.width << i;
      stages_->push_back(conv3x3(in, out));
      stages_->push_back(nn::BatchNorm2d(out));
      stages_->push_back(nn::ReLU(true));
      stages_->push_back(conv3x3(out, out));
      stages_->push_back(nn::BatchNorm2d(out));
      stages_->push_back(nn::ReLU(true));
      stages_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
      in = out;
    }
    features_ = in;
  }
  torch::Tensor forward(const torch::Tensor& images) override { return stages_->forward(images); }
  int64_t features() const override { return features_; }

 private:
  nn::Sequential stages_{nullptr};
  int64_t features_;
};

class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1_ = register_module("conv1", conv3x3(in, out, stride));
    bn1_ = register_module("bn1", nn::BatchNorm2d(out));
    conv2_ = register_module("conv2", conv3x3(out, out));
    bn2_ = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      shortcut_ = register_module(
          "shortcut",
          nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)),
                         nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_(conv1_(x)));
    y = bn2_(conv2_(y));
    return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNetImpl : public BackboneImpl {
 public:
  ResNetImpl(const VisionSettings& s, std::vector<int64_t> blocks) {
    const int64_t w = s.width;
    if (s.stem == "imagenet") {
      stem_ = register_module(
          "stem",
          nn::Sequential(
              nn::Conv2d(nn::Conv2dOptions(s.channels, w, 7).stride(2).padding(3).bias(false)),
              nn::BatchNorm2d(w), nn::ReLU(true),
              nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1))));
    } else {
      stem_ = register_module(
          "stem", nn::Sequential(conv3x3(s.channels, w), nn::BatchNorm2d(w), nn::ReLU(true)));
    }
    layers_ = register_module("layers", nn::Sequential());
    int64_t in = w;
    for (size_t stage = 0; stage < blocks.size(); ++stage) {
      const int64_t out = w << stage;
      for (int64_t b = 0; b < blocks[stage]; ++b) {
        layers_->push_back(BasicBlock(in, out, b == 0 && stage > 0 ? 2 : 1));
        in = out;
      }
    }
    features_ = in;
  }
  torch::Tensor forward(const torch::Tensor& images) override {
    return layers_->forward(stem_->forward(images));
  }
  int64_t features() const override { return features_; }

 private:
  nn::Sequential stem_{nullptr}, layers_{nullptr};
  int64_t features_;
};

class CnnEncoderImpl : public ConvImageEncoderImpl {
 public:
  explicit CnnEncoderImpl(const ModelContext& c)
      : ConvImageEncoderImpl(
            c, std::make_shared<SmallCnnImpl>(VisionSettings(c.config),
                                              c.config.get_int("model.vision.layers"))) {}
};

class ResNet18EncoderImpl : public ConvImageEncoderImpl {
 public:
  explicit ResNet18EncoderImpl(const ModelContext& c)
      : ConvImageEncoderImpl(c, std::make_shared<ResNetImpl>(VisionSettings(c.config),
                                                             std::vector<int64_t>{2, 2, 2, 2})) {}
};

class ResNet34EncoderImpl : public ConvImageEncoderImpl {
 public:
  explicit ResNet34EncoderImpl(const ModelContext& c)
      : ConvImageEncoderImpl(c, std::make_shared<ResNetImpl>(VisionSettings(c.config),
                                                             std::vector<int64_t>{3, 4, 6, 3})) {}
};

const bool registered =
    register_encoder<CnnEncoderImpl>(
        "cnn",
        "images: small CNN (3x3 conv pairs + max-pool per stage), one state per grid cell") &&
    register_encoder<ResNet18EncoderImpl>(
        "resnet18", "images: ResNet-18 (He et al. 2016), one state per grid cell") &&
    register_encoder<ResNet34EncoderImpl>(
        "resnet34", "images: ResNet-34 (He et al. 2016), one state per grid cell");

}  // namespace
}  // namespace seqlab
