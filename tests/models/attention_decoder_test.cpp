#include <catch2/catch.hpp>

#include <numeric>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/config.h"
#include "core/random.h"
#include "data/batch.h"
#include "eval/search.h"
#include "models/attention/attention.h"
#include "models/attention/scorer.h"
#include "models/seq2seq.h"
#include "tests/models/toy_tasks.h"

using seqlab::Config;
using seqlab::Json;

namespace {

Config attention_config(const std::string& decoder, const std::string& scorer, bool feeding = true,
                        const std::string& cell = "gru") {
  return Config::from_json(Json{{"model",
                                 {{"decoder", decoder},
                                  {"attention", scorer},
                                  {"cell", cell},
                                  {"embedding_dim", 12},
                                  {"hidden_dim", 16},
                                  {"decoder_layers", 2},
                                  {"input_feeding", feeding},
                                  // dot has no parameters to bridge widths: keep them equal
                                  {"bidirectional", scorer != "dot"},
                                  {"dropout", 0.0}}}});
}

seqlab::Source source_of(const seqlab::Batch& batch) {
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}

std::vector<std::tuple<std::string, bool>> decoder_variants() {
  return {{"bahdanau", false}, {"luong", true}, {"luong", false}};
}

}  // namespace

TEST_CASE("attention decoders: incremental steps equal the teacher-forced forward pass") {
  for (const auto& [decoder, feeding] : decoder_variants()) {
    for (const auto& scorer : seqlab::scorer_registry().names()) {
      DYNAMIC_SECTION(decoder << (feeding ? "+feeding" : "") << " with " << scorer) {
        torch::manual_seed(5);
        seqlab::Seq2Seq model(attention_config(decoder, scorer, feeding), 20, 20);
        model->eval();
        std::vector<seqlab::Example> examples = {{{5, 6, 7, 8}, {9, 10, 11}},
                                                 {{12, 13}, {14, 15, 16, 17}}};
        auto batch = seqlab::collate(examples, {0, 1});
        torch::NoGradGuard no_grad;
        auto full = model->forward(source_of(batch), batch.target_in);
        auto state = model->decoder->start(model->encode(source_of(batch)));
        for (int64_t t = 0; t < batch.target_in.size(1); ++t)
          CHECK(torch::allclose(model->decoder->step(state, batch.target_in.select(1, t)),
                                full.select(1, t), 1e-5, 1e-5));
      }
    }
  }
}

TEST_CASE("attention decoders: padding a batch does not change a sentence's logits") {
  for (const auto& [decoder, feeding] : decoder_variants()) {
    DYNAMIC_SECTION(decoder << (feeding ? "+feeding" : "")) {
      torch::manual_seed(6);
      seqlab::Seq2Seq model(attention_config(decoder, "additive", feeding, "lstm"), 20, 20);
      model->eval();
      std::vector<seqlab::Example> examples = {{{5, 6, 7}, {8, 9}},
                                               {{5, 6, 7, 10, 11, 12}, {8, 9, 10, 11}}};
      auto alone = seqlab::collate(examples, {0});
      auto padded = seqlab::collate(examples, {0, 1});
      torch::NoGradGuard no_grad;
      auto a = model->forward(source_of(alone), alone.target_in);
      auto b = model->forward(source_of(padded), padded.target_in);
      CHECK(torch::allclose(a[0], b[0].slice(0, 0, 3), 1e-5, 1e-6));
    }
  }
}

TEST_CASE("attention decoders: beam 1 equals greedy, and decoding records one map row per step") {
  for (const auto& [decoder, feeding] : decoder_variants()) {
    DYNAMIC_SECTION(decoder << (feeding ? "+feeding" : "")) {
      torch::manual_seed(7);
      seqlab::Seq2Seq model(attention_config(decoder, "general", feeding), 25, 25);
      model->eval();
      std::vector<seqlab::Example> examples = {{{5, 6, 7, 8, 9}, {}}, {{10, 11}, {}}};
      auto batch = seqlab::collate(examples, {0, 1});
      seqlab::SearchOptions options;
      auto greedy = seqlab::greedy_search(model, source_of(batch), options);
      auto beam = seqlab::beam_search(model, source_of(batch), options);
      for (size_t i = 0; i < greedy.size(); ++i) CHECK(greedy[i].tokens == beam[i].tokens);
      seqlab::AttentionRecorder recorder;
      seqlab::greedy_search(model, source_of(batch), options);
      auto maps = recorder.stacked("decoder.cross");  // [B, 1, steps, S]
      REQUIRE(maps.defined());
      CHECK(maps.size(0) == 2);
      CHECK(maps.size(3) == 5);
      CHECK(torch::allclose(maps.sum(-1), torch::ones_like(maps.sum(-1)), 1e-5, 1e-5));
      CHECK(maps[1].slice(2, 2).abs().max().item<float>() == 0.0f);  // padding of sentence 2
    }
  }
}

TEST_CASE(
    "a GRU with additive attention learns to reverse sequences and without attention fails on long "
    "ones",
    "[learning]") {
  using namespace seqlab::testing;
  use_learning_threads();
  const int64_t vocab = 16;
  auto make_model = [&](const std::string& decoder) {
    torch::manual_seed(learning_seed(8));
    Config config = Config::from_json(Json{{"model",
                                            {{"decoder", decoder},
                                             {"attention", "additive"},
                                             {"embedding_dim", 32},
                                             {"hidden_dim", 64},
                                             {"dropout", 0.0}}}});
    return seqlab::Seq2Seq(config, vocab, vocab);
  };
  seqlab::Rng held_out_rng(learning_seed(10));
  auto valid = random_sequences(held_out_rng, 500, 5, 20, vocab, true);
  auto held_out = random_sequences(held_out_rng, 300, 5, 20, vocab, true);
  auto long_ones = random_sequences(held_out_rng, 200, 16, 20, vocab, true);

  auto attention = make_model("bahdanau");
  seqlab::Rng rng(learning_seed(9));
  ToyTrainer trainer(
      attention, [&] { return random_sequences(rng, 64, 5, 20, vocab, true); }, 3e-3);
  // Criterion: every one of 500 validation sequences (an error rate of 1% would pass that with
  // probability 0.7%), so the test's 99% holds with a wide margin. Measured settings needed
  // 1,000-4,800 steps (docs/development.md, "Tests"); the cap is 2.5 times the most.
  int steps =
      trainer.train_until([&] { return exact_matches(attention, valid) == 500; }, 200, 12000);
  int exact = exact_matches(attention, held_out);
  int attention_long = exact_matches(attention, long_ones);

  auto plain = make_model("rnn");  // same size, same data, same number of steps, no attention
  seqlab::Rng plain_rng(learning_seed(9));
  train_teacher_forced(
      plain, [&] { return random_sequences(plain_rng, 64, 5, 20, vocab, true); }, steps, 3e-3);
  int plain_long = exact_matches(plain, long_ones);
  report_learning("bahdanau-reverse",
                  fmt::format("steps={} exact={}/300 long={}/200 plain_long={}/200", steps, exact,
                              attention_long, plain_long));
  INFO("after " << steps << " steps, exact reversals of lengths 5-20: " << exact
                << " / 300; lengths 16-20: attention " << attention_long << " / 200, no attention "
                << plain_long << " / 200");
  CHECK(exact >= 297);  // >= 99% of unseen sequences reversed exactly
  CHECK(plain_long < attention_long / 2);
}

TEST_CASE("dot attention between different widths is a clear error") {
  Config config = Config::from_json(Json{
      {"model",
       {{"decoder", "luong"}, {"attention", "dot"}, {"hidden_dim", 8}, {"bidirectional", true}}}});
  CHECK_THROWS_WITH(seqlab::Seq2Seq(config, 10, 10),
                    Catch::Matchers::Contains("equal query and key widths, got 8 and 16"));
}

TEST_CASE(
    "bahdanau: mixing projected memory rows equals projecting the context, in value and gradient") {
  // The CPU path projects every memory row into the cell's input gates once and mixes the
  // projections by the attention weights; the path for other devices concatenates the context to
  // the cell's input, as the equations are written. Without "context_gates" in the state the
  // decoder takes the latter, so both run here on the same parameters.
  for (const std::string cell : {"gru", "lstm", "rnn"}) {
    DYNAMIC_SECTION(cell) {
      torch::manual_seed(3);
      seqlab::Seq2Seq model(attention_config("bahdanau", "additive", false, cell), 20, 20);
      std::vector<seqlab::Example> examples = {
          {{5, 6, 7, 8}, {9, 10, 11}}, {{12, 13}, {14, 15, 16, 17}}, {{}, {4}}};
      auto batch =
          seqlab::collate(examples, {0, 1, 2});  // the empty source: zero attention weights
      auto upstream = torch::randn({3, batch.target_in.size(1), 20});
      auto gradients = [&] {
        std::vector<torch::Tensor> out;
        for (const auto& p : model->parameters()) {
          out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
          p.mutable_grad() = torch::Tensor();
        }
        return out;
      };
      auto batched = model->forward(source_of(batch), batch.target_in);
      (batched * upstream).sum().backward();
      auto batched_grads = gradients();

      auto state = model->decoder->start(model->encode(source_of(batch)));
      REQUIRE(state.has("context_gates"));
      state.tensors.erase("context_gates");
      std::vector<torch::Tensor> steps;
      for (int64_t t = 0; t < batch.target_in.size(1); ++t)
        steps.push_back(model->decoder->step(state, batch.target_in.select(1, t)));
      auto plain = torch::stack(steps, 1);
      (plain * upstream).sum().backward();
      auto plain_grads = gradients();

      CHECK(torch::allclose(batched, plain, 1e-5, 1e-5));
      for (size_t i = 0; i < plain_grads.size(); ++i)
        CHECK(torch::allclose(batched_grads[i], plain_grads[i], 1e-4, 1e-5));
    }
  }
}
