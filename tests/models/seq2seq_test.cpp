#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/random.h"
#include "data/batch.h"
#include "eval/search.h"
#include "models/rnn/recurrent_layer.h"
#include "models/seq2seq.h"
#include "tests/models/toy_tasks.h"
#include "tokenizers/tokenizer.h"

#include <numeric>

using seqlab::Config;
using seqlab::Json;

namespace {

Config small_config(const std::string& cell, bool feed_summary = true) {
  return Config::from_json(Json{{"model",
                                 {{"cell", cell},
                                  {"embedding_dim", 16},
                                  {"hidden_dim", 24},
                                  {"encoder_layers", 2},
                                  {"decoder_layers", 2},
                                  {"dropout", 0.0},
                                  {"feed_summary", feed_summary}}}});
}

seqlab::Source source_of(const seqlab::Batch& batch) {
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}

// An untrained 2-layer GRU model (seed 2, in eval mode) and six 4-token sources to decode.
std::pair<seqlab::Seq2Seq, seqlab::Source> untrained_gru_and_sources() {
  torch::manual_seed(2);
  seqlab::Seq2Seq model(small_config("gru"), 30, 30);
  model->eval();
  std::vector<seqlab::Example> examples;
  for (int i = 0; i < 6; ++i) examples.push_back({{4 + i, 5 + i, 6 + i, 7}, {}});
  return {model, source_of(seqlab::collate(examples, {0, 1, 2, 3, 4, 5}))};
}

}  // namespace

TEST_CASE("padding a batch does not change a sentence's logits") {
  for (std::string cell : {"gru", "lstm", "rnn"}) {
    DYNAMIC_SECTION(cell) {
      torch::manual_seed(0);
      seqlab::Seq2Seq model(small_config(cell), 20, 20);
      model->eval();
      std::vector<seqlab::Example> examples = {{{5, 6, 7}, {8, 9}},
                                               {{5, 6, 7, 10, 11, 12, 13}, {8, 9, 10, 11, 12}}};
      auto alone = seqlab::collate(examples, {0});
      auto padded = seqlab::collate(examples, {0, 1});
      torch::NoGradGuard no_grad;
      auto logits_alone = model->forward(source_of(alone), alone.target_in);     // [1, 3, V]
      auto logits_padded = model->forward(source_of(padded), padded.target_in);  // [2, 6, V]
      CHECK(torch::allclose(logits_alone[0], logits_padded[0].slice(0, 0, 3), 1e-5, 1e-6));
    }
  }
}

TEST_CASE("incremental decoding gives the same logits as the full forward pass") {
  for (std::string cell : {"gru", "lstm", "rnn"}) {
    for (bool feed : {true, false}) {
      DYNAMIC_SECTION(cell << (feed ? " feeding the summary" : " init only")) {
        torch::manual_seed(1);
        seqlab::Seq2Seq model(small_config(cell, feed), 20, 20);
        model->eval();
        std::vector<seqlab::Example> examples = {{{5, 6, 7, 8}, {9, 10, 11}},
                                                 {{12, 13}, {14, 15, 16}}};
        auto batch = seqlab::collate(examples, {0, 1});
        torch::NoGradGuard no_grad;
        auto full = model->forward(source_of(batch), batch.target_in);  // [B, T, V]
        auto memory = model->encode(source_of(batch));
        auto state = model->decoder->start(memory);
        for (int64_t t = 0; t < batch.target_in.size(1); ++t) {
          auto logits = model->decoder->step(state, batch.target_in.select(1, t));
          CHECK(torch::allclose(logits, full.select(1, t), 1e-5, 1e-5));
        }
      }
    }
  }
}

TEST_CASE("beam search with width 1 equals greedy search") {
  auto [model, source] = untrained_gru_and_sources();
  seqlab::SearchOptions options;
  options.beam = 1;
  auto greedy = seqlab::greedy_search(model, source, options);
  auto beam = seqlab::beam_search(model, source, options);
  REQUIRE(greedy.size() == beam.size());
  for (size_t i = 0; i < greedy.size(); ++i) {
    CHECK(greedy[i].tokens == beam[i].tokens);
    CHECK(greedy[i].score == Approx(beam[i].score).epsilon(1e-5));
  }
}

TEST_CASE(
    "a minimum length keeps eos out until then and at the limit every hypothesis runs to it") {
  auto [model, source] = untrained_gru_and_sources();
  seqlab::SearchOptions options;
  options.max_length_ratio = 2.0;
  options.max_length_extra = 3;  // limit: 2 x 4 + 3 = 11
  // Bias the output towards eos so that an unconstrained search stops at once.
  auto* bias = model->named_parameters().find("decoder.output.projection.bias");
  REQUIRE(bias != nullptr);
  {
    torch::NoGradGuard no_grad;
    bias->index_put_({seqlab::Tokenizer::kEos}, 100.0);
  }
  for (int64_t beam : {1, 3}) {
    options.beam = beam;
    options.min_length = 0;
    for (const auto& h : seqlab::search(model, source, options)) CHECK(h.tokens.empty());
    options.min_length = 5;
    for (const auto& h : seqlab::search(model, source, options)) CHECK(h.tokens.size() == 5);
    options.min_length = 1000;
    for (const auto& h : seqlab::search(model, source, options)) CHECK(h.tokens.size() == 11);
  }
}

TEST_CASE("a wider beam never finds a worse-scoring hypothesis without length penalty") {
  torch::manual_seed(3);
  seqlab::Seq2Seq model(small_config("gru"), 12, 12);
  model->eval();
  std::vector<seqlab::Example> examples;
  for (int i = 0; i < 8; ++i) examples.push_back({{4 + i % 5, 5, 6 + i % 3}, {}});
  std::vector<int64_t> all(examples.size());
  std::iota(all.begin(), all.end(), 0);
  auto batch = seqlab::collate(examples, all);
  seqlab::SearchOptions options;
  options.length_penalty = 0.0;
  options.max_length_ratio = 3.0;
  auto greedy = seqlab::greedy_search(model, source_of(batch), options);
  options.beam = 4;
  auto beam = seqlab::beam_search(model, source_of(batch), options);
  for (size_t i = 0; i < greedy.size(); ++i) CHECK(beam[i].score >= greedy[i].score - 1e-5);
}

TEST_CASE("a tiny GRU encoder-decoder learns to copy sequences", "[learning]") {
  using namespace seqlab::testing;
  torch::manual_seed(learning_seed(4));
  use_learning_threads();
  Config config = Config::from_json(Json{
      {"model", {{"cell", "gru"}, {"embedding_dim", 32}, {"hidden_dim", 64}, {"dropout", 0.0}}}});
  const int64_t vocab = 14;
  seqlab::Seq2Seq model(config, vocab, vocab);
  seqlab::Rng rng(learning_seed(5));
  seqlab::Rng held_out_rng(learning_seed(6));
  auto valid = random_sequences(held_out_rng, 100, 3, 6, vocab, false);
  auto held_out = random_sequences(held_out_rng, 200, 3, 6, vocab, false);
  ToyTrainer trainer(
      model, [&] { return random_sequences(rng, 64, 3, 6, vocab, false); }, 3e-3);
  // Criterion 97% on validation; the cap is more than twice the most steps any measured setting
  // needed (600-1,300).
  int steps = trainer.train_until([&] { return exact_matches(model, valid) >= 97; }, 100, 3000);
  int exact = exact_matches(model, held_out);
  int int8_same = int8_agreement(model, held_out);
  const double int8_error = int8_worst_error(model);
  CHECK(int8_error < 0.03);  // per matrix, trained weights (measured 0.012-0.015)
  report_learning("gru-copy",
                  fmt::format("steps={} exact={}/200 int8_same={}/200 int8_error={:.4f}", steps,
                              exact, int8_same, int8_error));
  INFO("exact copies after " << steps << " steps: " << exact << " / 200; int8 weights decode "
                             << int8_same << " / 200 as fp32 does");
  CHECK(exact >= 180);  // >= 90% of unseen sequences
  CHECK(int8_same >= 190);
}

TEST_CASE("an unknown encoder or cell is an error listing the choices") {
  CHECK_THROWS_WITH(Config::from_json(Json{{"model", {{"encoder", "vgg"}}}}),
                    Catch::Matchers::Contains("one of: bag, cnn, elm, embedding, none, patch, "
                                              "reservoir, resnet18, resnet34, rnn, transformer"));
  CHECK_THROWS_WITH(Config::from_json(Json{{"model", {{"cell", "gruu"}}}}),
                    Catch::Matchers::Contains("gru, lstm, rnn"));
}

TEST_CASE("tied embeddings share the decoder's input matrix with its output projection") {
  for (std::string decoder : {"rnn", "bahdanau", "luong"}) {
    DYNAMIC_SECTION(decoder) {
      auto base = Json{
          {"model",
           {{"decoder", decoder}, {"embedding_dim", 8}, {"hidden_dim", 12}, {"dropout", 0.0}}}};
      auto tied_json = base;
      tied_json["model"]["tie_embeddings"] = true;
      seqlab::Seq2Seq untied(Config::from_json(base), 50, 50);
      seqlab::Seq2Seq tied(Config::from_json(tied_json), 50, 50);
      // The untied output has a [V, E] matrix and a bias; the tied one only the bias.
      CHECK(untied->parameter_count() - tied->parameter_count() == 50 * 8);
      tied->eval();
      std::vector<seqlab::Example> examples = {{{5, 6, 7}, {8, 9}}};
      auto batch = seqlab::collate(examples, {0});
      torch::NoGradGuard no_grad;
      auto full = tied->forward(source_of(batch), batch.target_in);
      auto state = tied->decoder->start(tied->encode(source_of(batch)));
      CHECK(torch::allclose(tied->decoder->step(state, batch.target_in.select(1, 0)),
                            full.select(1, 0), 1e-5, 1e-5));
    }
  }
}

TEST_CASE("one recurrent step through the cell kernels equals the layer on a length-1 sequence") {
  for (std::string cell : {"gru", "lstm", "rnn"}) {
    INFO(cell);
    torch::manual_seed(3);
    seqlab::RecurrentLayer layer(cell, 5, 7, /*layers=*/2, /*bidirectional=*/false,
                                 /*dropout=*/0.3);
    layer->eval();
    auto input = torch::randn({4, 5});
    seqlab::RecurrentState state{torch::randn({2, 4, 7}),
                                 cell == "lstm" ? torch::randn({2, 4, 7}) : torch::Tensor()};
    auto [expected, expected_state] = layer->forward(input.unsqueeze(1), state);
    auto [output, next] = layer->step(input, state);
    CHECK(torch::allclose(output, expected.squeeze(1), 1e-5, 1e-6));
    CHECK(torch::allclose(next.h, expected_state.h, 1e-5, 1e-6));
    if (cell == "lstm") CHECK(torch::allclose(next.c, expected_state.c, 1e-5, 1e-6));
    // No initial state means zeros, as in forward().
    auto [from_zero, unused] = layer->step(input, {});
    CHECK(torch::allclose(from_zero, layer->forward(input.unsqueeze(1), {}).first.squeeze(1), 1e-5,
                          1e-6));
  }
  // A bidirectional stack has no single next step.
  seqlab::RecurrentLayer both("gru", 5, 7, 1, /*bidirectional=*/true, 0.0);
  CHECK_THROWS_WITH(both->step(torch::randn({2, 5}), {}), Catch::Contains("bidirectional"));
}

TEST_CASE("a padded batch through the recurrent stack equals each sentence run alone") {
  for (std::string cell : {"gru", "lstm", "rnn"}) {
    for (bool bidirectional : {false, true}) {
      INFO(cell << (bidirectional ? " bidirectional" : ""));
      torch::manual_seed(4);
      seqlab::RecurrentLayer layer(cell, 5, 6, /*layers=*/2, bidirectional, /*dropout=*/0.2);
      layer->eval();
      const std::vector<int64_t> lengths{7, 3, 1, 5};
      auto input = torch::randn({4, 7, 5});
      auto [outputs, finals] = layer->forward_lengths(input, torch::tensor(lengths));
      const int64_t dirs = bidirectional ? 2 : 1;
      REQUIRE(outputs.sizes() == torch::IntArrayRef({4, 7, 6 * dirs}));
      REQUIRE(finals.sizes() == torch::IntArrayRef({2 * dirs, 4, 6}));
      for (int64_t b = 0; b < 4; ++b) {
        const int64_t n = lengths[static_cast<size_t>(b)];
        auto [alone, state] = layer->forward(input[b].narrow(0, 0, n).unsqueeze(0), {});
        CHECK(torch::allclose(outputs[b].narrow(0, 0, n), alone[0], 1e-5, 1e-6));
        CHECK(torch::allclose(finals.select(1, b), state.h.select(1, 0), 1e-5, 1e-6));
        if (n < 7) CHECK(outputs[b].narrow(0, n, 7 - n).abs().max().item<float>() == 0.0f);
      }
    }
  }
}
