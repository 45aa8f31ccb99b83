// The classification head on every encoder family: scores from the whole memory, the same for a
// sentence alone and inside a padded batch, attention pooling that is a distribution over the real
// positions, and the transformer's class-token summary.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config.h"
#include "data/batch.h"
#include "models/attention/attention.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

using seqlab::Config;
using seqlab::Json;

namespace {

constexpr int64_t kVocab = 30, kLabels = 3;

struct Family {
  std::string name;
  Json model;
};

std::vector<Family> families() {
  const Json transformer = {{"d_model", 16}, {"heads", 2}, {"ffn_dim", 32}, {"encoder_layers", 2}};
  const Json reservoir = {{"units", 40}, {"connectivity", 0.2}};
  std::vector<Family> out;
  for (const char* cell : {"rnn", "gru", "lstm"})
    for (const char* pooling : {"summary", "mean", "max", "attention"})
      out.push_back(
          {fmt::format("{} {}", cell, pooling),
           {{"encoder", "rnn"},
            {"cell", cell},
            {"embedding_dim", 8},
            {"hidden_dim", 12},
            {"bidirectional", true},
            {"classifier",
             {{"pooling", pooling}, {"hidden", std::string(pooling) == "max" ? 10 : 0}}}}});
  for (const char* summary : {"mean", "class_token"})
    for (const char* pooling : {"summary", "attention"}) {
      Json t = transformer;
      t["summary"] = summary;
      out.push_back({fmt::format("transformer {} {}", summary, pooling),
                     {{"encoder", "transformer"},
                      {"transformer", t},
                      {"classifier", {{"pooling", pooling}}}}});
    }
  for (const char* encoder : {"reservoir", "elm"})
    for (const char* pooling : {"summary", "mean"})
      out.push_back({fmt::format("{} {}", encoder, pooling),
                     {{"encoder", encoder},
                      {"reservoir", reservoir},
                      {"classifier", {{"pooling", pooling}}}}});
  out.push_back({"bag summary", {{"encoder", "bag"}, {"classifier", {{"pooling", "summary"}}}}});
  return out;
}

seqlab::Seq2Seq classifier(const Json& model) {
  Json config = {{"model", model}};
  config["model"]["decoder"] = "classifier";
  config["model"]["dropout"] = 0.0;
  torch::manual_seed(4);
  seqlab::Seq2Seq m(Config::from_json(config), kVocab, seqlab::Tokenizer::kNumSpecial + kLabels);
  m->eval();
  return m;
}

std::vector<seqlab::Example> sentences() {
  return {{{5, 9, 12, 7, 20}, {4}}, {{6, 6}, {5}}, {{11, 13, 8}, {6}}, {{29}, {4}}};
}

}  // namespace

TEST_CASE(
    "classifier head: every encoder family scores a sentence the same alone as in a padded batch") {
  auto examples = sentences();
  for (const auto& family : families()) {
    SECTION(family.name) {
      auto model = classifier(family.model);
      torch::NoGradGuard no_grad;
      auto batch = seqlab::collate(examples, {0, 1, 2, 3}, {}, seqlab::Framing::kLabel);
      auto logits = model->forward(seqlab::Source::of(batch), batch.target_in);
      REQUIRE(logits.sizes() ==
              torch::IntArrayRef({4, 1, seqlab::Tokenizer::kNumSpecial + kLabels}));
      for (int64_t i = 0; i < 4; ++i) {
        auto alone = seqlab::collate(examples, {i}, {}, seqlab::Framing::kLabel);
        auto single = model->forward(seqlab::Source::of(alone), alone.target_in);
        CHECK(torch::allclose(single[0], logits[i], 1e-4, 1e-5));
      }
      // The readout reads what the fused loss and the ridge fitter read.
      auto features = model->decoder->readout_features(model->encode(seqlab::Source::of(batch)),
                                                       batch.target_in);
      CHECK(torch::allclose(model->decoder->readout()->forward(features), logits, 1e-5, 1e-6));
      // Search's view (start + one step) gives the teacher-forced scores.
      auto state = model->decoder->start(model->encode(seqlab::Source::of(batch)));
      CHECK(torch::allclose(model->decoder->step(state, batch.target_in.select(1, 0)),
                            logits.select(1, 0), 1e-5, 1e-6));
    }
  }
}

TEST_CASE(
    "classifier head: gradients reach the encoder (trained families) and the loss is cross-entropy "
    "over labels") {
  auto model = classifier({{"encoder", "rnn"},
                           {"cell", "gru"},
                           {"embedding_dim", 8},
                           {"hidden_dim", 12},
                           {"classifier", {{"pooling", "attention"}}}});
  model->train();
  auto examples = sentences();
  auto batch = seqlab::collate(examples, {0, 1, 2, 3}, {}, seqlab::Framing::kLabel);
  auto loss = model->loss_sum(seqlab::Source::of(batch), batch.target_in, batch.target_out, 0.0);
  auto logits = model->forward(seqlab::Source::of(batch), batch.target_in).select(1, 0);
  auto expected = torch::nn::functional::cross_entropy(
      logits, batch.target_out.select(1, 0),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  CHECK(loss.item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("attention pooling: weights over the real positions sum to one and padding gets none") {
  auto model = classifier({{"encoder", "rnn"},
                           {"cell", "lstm"},
                           {"embedding_dim", 8},
                           {"hidden_dim", 12},
                           {"classifier", {{"pooling", "attention"}}}});
  auto examples = sentences();
  auto batch = seqlab::collate(examples, {0, 1, 2, 3}, {}, seqlab::Framing::kLabel);
  seqlab::AttentionRecorder recorder;
  torch::NoGradGuard no_grad;
  model->forward(seqlab::Source::of(batch), batch.target_in);
  auto weights = recorder.stacked("classifier.pool").select(1, 0).select(1, 0);  // [B, S]
  REQUIRE(weights.sizes() == batch.source_mask.sizes());
  CHECK(torch::allclose(weights.sum(1), torch::ones({4}), 1e-5, 1e-6));
  CHECK(weights.masked_select(~batch.source_mask).abs().sum().item<double>() == 0.0);
}

TEST_CASE(
    "transformer class token: the summary is the token's state, the states are the source's "
    "alone") {
  Json t = {{"d_model", 16}, {"heads", 2}, {"ffn_dim", 32}, {"encoder_layers", 1}};
  auto mean = classifier({{"encoder", "transformer"}, {"transformer", t}});
  t["summary"] = "class_token";
  auto cls = classifier({{"encoder", "transformer"}, {"transformer", t}});
  auto examples = sentences();
  auto batch = seqlab::collate(examples, {0, 1, 2, 3}, {}, seqlab::Framing::kLabel);
  torch::NoGradGuard no_grad;
  auto memory = cls->encode(seqlab::Source::of(batch));
  CHECK(memory.states.sizes() == torch::IntArrayRef({4, batch.source.size(1), 16}));
  CHECK(memory.mask.equal(batch.source_mask));
  auto mean_of_states =
      (memory.states * memory.mask.unsqueeze(-1)).sum(1) / memory.mask.sum(1, true);
  CHECK_FALSE(torch::allclose(memory.summary, mean_of_states, 1e-3, 1e-3));
  CHECK(cls->named_parameters().contains("encoder.class_token"));
  CHECK_FALSE(mean->named_parameters().contains("encoder.class_token"));
}

TEST_CASE(
    "bag-of-words encoder: binary, count and frequency features over the vocabulary, markers left "
    "out") {
  for (const char* weighting : {"binary", "count", "frequency"}) {
    auto model = classifier({{"encoder", "bag"}, {"bag", {{"weighting", weighting}}}});
    std::vector<seqlab::Example> examples = {{{5, 5, 1, 7}, {4}}, {{9}, {4}}};
    auto batch = seqlab::collate(examples, {0, 1}, {}, seqlab::Framing::kLabel);
    auto summary = model->encode(seqlab::Source::of(batch)).summary;
    REQUIRE(summary.sizes() == torch::IntArrayRef({2, kVocab}));
    const double five = std::string(weighting) == "binary"  ? 1
                        : std::string(weighting) == "count" ? 2
                                                            : 0.5;
    CHECK(summary[0][5].item<double>() == Approx(five));
    CHECK(summary[0][1].item<double>() > 0);  // unknown words count
    CHECK(summary[0][seqlab::Tokenizer::kPad].item<double>() == 0);
    CHECK(summary[1].sum().item<double>() == Approx(1.0));
  }
}
