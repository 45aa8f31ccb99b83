// Image encoders and every decoder family on images: grid memories, incremental decoding equal to
// a full pass, pretrained backbones from a state dict or a TorchScript file, frozen or not.
#include <torch/script.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/tensor_file.h"
#include "core/trust.h"
#include "models/seq2seq.h"
#include "models/vision/vision.h"
#include "tests/test_support.h"

using seqlab::Config;
using seqlab::Json;

namespace {

Config vision_config(const std::string& encoder, const std::string& decoder,
                     Json extra = Json::object()) {
  Json json = {{"data", {{"task", "captioning"}, {"image_size", 16}, {"image_channels", 3}}},
               {"model",
                {{"encoder", encoder},
                 {"decoder", decoder},
                 {"embedding_dim", 16},
                 {"hidden_dim", 24},
                 {"dropout", 0.0},
                 {"vision", {{"width", 8}, {"layers", 2}, {"patch_size", 4}}},
                 {"transformer",
                  {{"d_model", 16},
                   {"heads", 2},
                   {"ffn_dim", 32},
                   {"encoder_layers", 1},
                   {"decoder_layers", 2},
                   {"share_embeddings", true}}},
                 {"reservoir", {{"units", 40}}}}}};
  json.merge_patch(extra);
  return Config::from_json(json, {}, "test");
}

seqlab::Source images(int64_t batch, int64_t channels = 3) {
  seqlab::Source source;
  source.images = torch::randint(0, 256, {batch, channels, 16, 16}).to(torch::kUInt8);
  return source;
}

}  // namespace

TEST_CASE("Image encoders give one state per grid cell, the grid's shape and a pooled summary",
          "[vision]") {
  auto [encoder, height, width] =
      GENERATE(std::make_tuple(std::string("cnn"), 4, 4),       // 2 pools
               std::make_tuple(std::string("resnet18"), 2, 2),  // strides 1,2,2,2
               std::make_tuple(std::string("resnet34"), 2, 2),
               std::make_tuple(std::string("patch"), 4, 4));  // 16 / 4
  CAPTURE(encoder);
  torch::manual_seed(1);
  seqlab::Seq2Seq model(vision_config(encoder, "bahdanau"), 20, 20);
  model->eval();
  auto memory = model->encode(images(3));
  CHECK(memory.grid_height == height);
  CHECK(memory.grid_width == width);
  REQUIRE(memory.states.sizes() ==
          torch::IntArrayRef({3, height * width, model->encoder->output_dim()}));
  CHECK(memory.mask.all().item<bool>());
  CHECK(torch::allclose(memory.summary, memory.states.mean(1), 1e-5, 1e-6));
  // A text source is refused with a message, not a crash.
  seqlab::Source text{torch::ones({1, 3}, torch::kLong),
                      torch::full({1}, 3, torch::kLong),
                      torch::ones({1, 3}, torch::kBool),
                      {}};
  CHECK_THROWS_AS(model->encode(text), seqlab::InputError);
}

TEST_CASE("Region positions tell apart two regions with the same content, not the summary",
          "[vision]") {
  auto encoder = GENERATE(std::string("cnn"), std::string("resnet18"));
  CAPTURE(encoder);
  const auto source = images(2);
  auto encode = [&](const std::string& positions) {
    torch::manual_seed(1);  // the same weights both times
    seqlab::Seq2Seq model(
        vision_config(encoder, "bahdanau", {{"model", {{"vision", {{"positions", positions}}}}}}),
        20, 20);
    model->eval();
    return model->encode(source);
  };
  auto plain = encode("none"), placed = encode("sinusoidal");
  const int64_t dim = plain.states.size(2);
  auto table = seqlab::sinusoidal_2d(plain.grid_height, plain.grid_width, dim);
  // Each region gains its own row-major position; the rows and columns differ from each other.
  CHECK(torch::allclose(placed.states - plain.states, table.unsqueeze(0).expand_as(plain.states),
                        1e-5, 1e-5));
  CHECK_FALSE(torch::allclose(table[0], table[1]));
  CHECK_FALSE(torch::allclose(table[0], table[plain.grid_width]));
  // The pooled summary moves by one constant vector, the same for every image.
  auto shift = placed.summary - plain.summary;
  CHECK(torch::allclose(shift[0], table.mean(0), 1e-5, 1e-5));
  CHECK(torch::allclose(shift[0], shift[1], 1e-5, 1e-5));
}

TEST_CASE("Every decoder family reads images, and decodes incrementally as in a full pass",
          "[vision]") {
  auto decoder =
      GENERATE(as<std::string>{}, "rnn", "bahdanau", "luong", "transformer", "reservoir", "elm");
  CAPTURE(decoder);
  torch::manual_seed(3);
  seqlab::Seq2Seq model(vision_config("cnn", decoder), 20, 20);
  model->eval();
  torch::NoGradGuard no_grad;
  auto source = images(2);
  auto target_in = torch::tensor({{1, 5, 6, 7}, {1, 8, 9, 4}}, torch::kLong);
  auto full = model->forward(source, target_in);  // [2, 4, 20]
  REQUIRE(full.sizes() == torch::IntArrayRef({2, 4, 20}));
  auto state = model->decoder->start(model->encode(source));
  for (int64_t t = 0; t < 4; ++t) {
    auto step = model->decoder->step(state, target_in.select(1, t));
    CHECK(torch::allclose(step, full.select(1, t), 1e-4, 1e-5));
  }
}

TEST_CASE(
    "A pretrained backbone loads from safetensors (or, trusted, a state dict), frozen or "
    "fine-tuned",
    "[vision]") {
  seqlab::testing::TempDir dir;
  torch::manual_seed(5);
  seqlab::Seq2Seq first(vision_config("cnn", "rnn"), 20, 20);
  first->eval();
  {
    torch::serialize::OutputArchive archive;
    first->encoder->named_children()["backbone"]->save(archive);
    archive.save_to(dir.file("backbone.pt"));
    seqlab::write_tensor_file(
        dir.file("backbone.safetensors"),
        seqlab::module_tensors(*first->encoder->named_children()["backbone"]));
  }
  auto source = images(2);
  torch::NoGradGuard no_grad;
  auto expected = first->encode(source).states;
  // A torch state dict is a TorchScript archive: code, loaded only with --trust-code.
  auto untrusted = [&] {
    seqlab::Seq2Seq m(
        vision_config("cnn", "rnn",
                      {{"model", {{"vision", {{"pretrained", dir.file("backbone.pt")}}}}}}),
        20, 20);
  };
  CHECK_THROWS_WITH(untrusted(), Catch::Matchers::Contains("backbone.pt") &&
                                     Catch::Matchers::Contains("--trust-code"));
  seqlab::CodeTrust trust(GENERATE(false, true));
  const std::string file =
      dir.file(seqlab::CodeTrust::granted() ? "backbone.pt" : "backbone.safetensors");
  for (bool freeze : {false, true}) {
    torch::manual_seed(99);  // other random weights, which the file must replace
    seqlab::Seq2Seq loaded(
        vision_config("cnn", "rnn",
                      {{"model", {{"vision", {{"pretrained", file}, {"freeze", freeze}}}}}}),
        20, 20);
    loaded->train();  // a frozen backbone keeps its BatchNorm statistics even in training mode
    if (freeze) CHECK(torch::allclose(loaded->encode(source).states, expected, 1e-5, 1e-6));
    loaded->eval();
    CHECK(torch::allclose(loaded->encode(source).states, expected, 1e-5, 1e-6));
    int64_t trainable = 0;
    for (const auto& p : loaded->encoder->named_children()["backbone"]->parameters())
      trainable += p.requires_grad();
    CHECK((trainable == 0) == freeze);
  }
  // Weights of another architecture are an error that says so.
  auto wrong = [&] {
    seqlab::Seq2Seq m(
        vision_config("resnet18", "rnn", {{"model", {{"vision", {{"pretrained", file}}}}}}), 20,
        20);
  };
  CHECK_THROWS_WITH(wrong(), Catch::Matchers::Contains(file));
}

TEST_CASE("A TorchScript backbone replaces the network: its feature map becomes the regions",
          "[vision]") {
  seqlab::testing::TempDir dir;
  torch::jit::Module scripted("Backbone");
  scripted.register_parameter("weight", torch::randn({6, 3, 4, 4}) * 0.1, false);
  scripted.define(R"(
def forward(self, x):
    return torch.relu(torch.conv2d(x, self.weight, None, [4, 4]))
)");
  scripted.save(dir.file("backbone.ts"));
  auto untrusted = [&] {
    seqlab::Seq2Seq m(
        vision_config("cnn", "bahdanau",
                      {{"model", {{"vision", {{"pretrained", dir.file("backbone.ts")}}}}}}),
        20, 20);
  };
  CHECK_THROWS_WITH(untrusted(), Catch::Matchers::Contains("--trust-code"));
  seqlab::CodeTrust trust(true);  // the user's --trust-code
  for (bool freeze : {true, false}) {
    seqlab::Seq2Seq model(
        vision_config(
            "cnn", "bahdanau",
            {{"model",
              {{"vision", {{"pretrained", dir.file("backbone.ts")}, {"freeze", freeze}}}}}}),
        20, 20);
    auto memory = model->encode(images(2));
    CHECK(memory.grid_height == 4);
    CHECK(memory.grid_width == 4);
    CHECK(model->encoder->output_dim() == 6);
    int64_t trainable = 0;
    for (const auto& p : model->encoder->parameters()) trainable += p.requires_grad();
    CHECK((trainable == 0) == freeze);  // fine-tuning trains the script's own weights
    auto logits = model->forward(images(2), torch::tensor({{1, 5}, {1, 6}}, torch::kLong));
    if (!freeze) {
      logits.sum().backward();
      auto weight = model->encoder->named_parameters()["pretrained_0_weight"];
      CHECK(weight.grad().defined());
    }
  }
}

TEST_CASE("Image encoder settings that cannot work are errors naming the key", "[vision]") {
  auto patch = [] {
    seqlab::Seq2Seq m(vision_config("patch", "rnn", {{"model", {{"vision", {{"patch_size", 5}}}}}}),
                      20, 20);
  };
  CHECK_THROWS_WITH(patch(), Catch::Matchers::Contains("model.vision.patch_size"));
  auto missing = [] {
    seqlab::Seq2Seq m(
        vision_config("cnn", "rnn",
                      {{"model", {{"vision", {{"pretrained", "/nowhere/backbone.pt"}}}}}}),
        20, 20);
  };
  CHECK_THROWS_WITH(missing(), Catch::Matchers::Contains("/nowhere/backbone.pt") &&
                                   Catch::Matchers::Contains("not found"));
  // A text model given images.
  seqlab::Seq2Seq text(vision_config("rnn", "rnn"), 20, 20);
  CHECK_THROWS_WITH(text->encode(images(1)), Catch::Matchers::Contains("image encoder"));
}
