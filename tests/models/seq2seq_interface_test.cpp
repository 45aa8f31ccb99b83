// The encoder / decoder seam (models/seq2seq.h) checked over the whole registries, the way the
// scorer tests cover every scorer: a family registered tomorrow is held to the same contract the
// moment it exists. Every decoder is paired with a GRU encoder and every encoder with a GRU
// decoder (any encoder works with any decoder), all at toy sizes, in eval mode.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <torch/torch.h>

#include "core/config.h"
#include "core/int8_gemm.h"
#include "core/tensor_file.h"
#include "eval/search.h"
#include "eval/shortlist.h"
#include "models/seq2seq.h"
#include "tests/test_support.h"

using seqlab::Config;
using seqlab::Json;

namespace {

constexpr int64_t kVocab = 23;

Config toy_config(const std::string& encoder, const std::string& decoder) {
  Json model = {{"encoder", encoder},
                {"decoder", decoder},
                {"embedding_dim", 8},
                {"hidden_dim", 16},
                {"dropout", 0.0},
                {"transformer",
                 {{"d_model", 16},
                  {"heads", 2},
                  {"ffn_dim", 32},
                  {"encoder_layers", 1},
                  {"decoder_layers", 1}}},
                {"reservoir", {{"units", 32}, {"connectivity", 0.2}}}};
  return Config::from_json(Json{{"model", model}});
}

seqlab::Seq2Seq toy_model(const std::string& encoder, const std::string& decoder, uint64_t seed) {
  torch::manual_seed(seed);
  seqlab::Seq2Seq model(toy_config(encoder, decoder), kVocab, kVocab);
  model->eval();
  return model;
}

// Two sentences of source lengths 4 and 6 (the first padded), or two 32x32 images.
seqlab::Source toy_source(bool images) {
  seqlab::Source source;
  if (images) {
    source.images = torch::randint(0, 256, {2, 3, 32, 32}, torch::kLong).to(torch::kUInt8);
    return source;
  }
  source.lengths = torch::tensor({4, 6}, torch::kLong);
  source.mask = torch::arange(6).unsqueeze(0) < source.lengths.unsqueeze(1);
  source.ids = torch::randint(4, kVocab, {2, 6}, torch::kLong).masked_fill(~source.mask, 0);
  return source;
}

// Row `row` of `source` alone, without its padding.
seqlab::Source row_of(const seqlab::Source& source, int64_t row) {
  if (source.images.defined()) return {{}, {}, {}, source.images.narrow(0, row, 1)};
  const int64_t length = source.lengths[row].item<int64_t>();
  return {source.ids.narrow(0, row, 1).narrow(1, 0, length),
          source.lengths.narrow(0, row, 1),
          source.mask.narrow(0, row, 1).narrow(1, 0, length),
          {}};
}

void check_close(const torch::Tensor& a, const torch::Tensor& b) {
  INFO("max difference " << (a - b).abs().max().item<double>());
  CHECK(torch::allclose(a, b, 1e-4, 1e-5));
}

// The contract, for one encoder-decoder pair.
void check_contract(const std::string& encoder, const std::string& decoder) {
  auto model = toy_model(encoder, decoder, 11);
  torch::NoGradGuard no_grad;
  torch::manual_seed(12);
  const auto source = toy_source(model->encoder->reads_images());
  auto target = torch::randint(4, kVocab, {2, 5}, torch::kLong);

  // Shapes: the memory a decoder can rely on, and [B, T, V] logits.
  auto memory = model->encode(source);
  REQUIRE(memory.states.dim() == 3);
  CHECK(memory.states.size(0) == 2);
  if (memory.states.size(1) > 0) CHECK(memory.states.size(2) == model->encoder->output_dim());
  if (memory.mask.defined()) CHECK(memory.mask.sizes() == memory.states.sizes().slice(0, 2));
  if (memory.grid_height > 0)
    CHECK(memory.grid_height * memory.grid_width == memory.states.size(1));
  auto logits = model->decoder->forward(memory, target);
  CHECK(logits.sizes() == torch::IntArrayRef({2, 5, kVocab}));
  CHECK(torch::isfinite(logits).all().item<bool>());

  // step() one token at a time equals the teacher-forced pass (what search relies on).
  auto state = model->decoder->start(memory);
  for (int64_t t = 0; t < 5; ++t) {
    INFO("step " << t);
    check_close(model->decoder->step(state, target.select(1, t)), logits.select(1, t));
  }

  // Padding: a sentence in a padded batch gets the logits it gets alone.
  auto alone = model->forward(row_of(source, 0), target.narrow(0, 0, 1).narrow(1, 0, 3));
  check_close(alone, logits.narrow(0, 0, 1).narrow(1, 0, 3));

  // Checkpoint round trip: the weights written and read into a differently seeded model give the
  // same logits, bit for bit.
  seqlab::testing::TempDir dir;
  const std::string path = dir.file("weights.safetensors");
  seqlab::write_tensor_file(path, seqlab::module_tensors(*model));
  auto other = toy_model(encoder, decoder, 99);
  seqlab::load_module_tensors(*other, seqlab::TensorFile(path));
  CHECK(torch::equal(other->forward(source, target), logits));
}

}  // namespace

TEST_CASE("every registered decoder keeps the decoder contract (under a GRU encoder)") {
  for (const auto& name : seqlab::decoder_registry().names()) DYNAMIC_SECTION(name) {
      check_contract("rnn", name);
    }
}

TEST_CASE("every registered encoder keeps the encoder contract (under a GRU decoder)") {
  for (const auto& name : seqlab::encoder_registry().names()) DYNAMIC_SECTION(name) {
      check_contract(name, "rnn");
    }
}

namespace {

// A shortlist whose "frequent" list is `ids` and which has no per-source candidates.
std::shared_ptr<seqlab::Shortlist> fixed_shortlist(const std::vector<int64_t>& ids) {
  auto shortlist = std::make_shared<seqlab::Shortlist>();
  shortlist->vocab = kVocab;
  shortlist->by_source = torch::full({kVocab, 1}, -1, torch::kInt64);
  shortlist->frequent = torch::tensor(ids, torch::kInt64);
  return shortlist;
}

void check_same_search(seqlab::Seq2Seq& model, const seqlab::Source& source,
                       seqlab::SearchOptions options) {
  auto full = seqlab::search(model, source, options);
  std::vector<int64_t> all(kVocab);
  std::iota(all.begin(), all.end(), 0);
  options.shortlist = fixed_shortlist(all);
  auto listed = seqlab::search(model, source, options);
  REQUIRE(full.size() == listed.size());
  for (size_t i = 0; i < full.size(); ++i) {
    CHECK(full[i].tokens == listed[i].tokens);
    CHECK(full[i].score == Approx(listed[i].score).margin(1e-4));
  }
}

}  // namespace

TEST_CASE(
    "every decoder: a shortlist of the whole vocabulary searches as the full softmax does, "
    "a smaller one keeps every token inside it") {
  for (const auto& name : seqlab::decoder_registry().names()) DYNAMIC_SECTION(name) {
      auto model = toy_model("rnn", name, 21);
      torch::manual_seed(22);
      const auto source = toy_source(false);
      seqlab::SearchOptions options;
      options.max_length_extra = 6;
      for (int64_t beam : {1, 3}) {
        options.beam = beam;
        check_same_search(model, source, options);
        {
          seqlab::Int8Weights int8(*model);  // the shortlist's rows of the int8 output matrix
          check_same_search(model, source, options);
        }
        const std::vector<int64_t> allowed = {0, 1, 2, 3, 5, 8, 13};
        options.shortlist = fixed_shortlist(allowed);
        for (const auto& hypothesis : seqlab::search(model, source, options))
          for (int64_t token : hypothesis.tokens)
            CHECK(std::find(allowed.begin(), allowed.end(), token) != allowed.end());
        options.shortlist.reset();
      }
      // The layer is unrestricted again after search.
      CHECK(!model->decoder->readout()->restricted());
    }
}

TEST_CASE("a shortlist over an image source is an input error: images have no source tokens") {
  auto model = toy_model("cnn", "rnn", 23);
  seqlab::SearchOptions options;
  options.shortlist = fixed_shortlist({0, 1, 2, 3});
  CHECK_THROWS_WITH(seqlab::search(model, toy_source(true), options),
                    Catch::Contains("images have none"));
  CHECK(!model->decoder->readout()->restricted());
}
