// seqlab bench: throughput of fixed configurations on synthetic data of realistic lengths, so
// numbers are comparable across machines and commits (README lists them with the machine).
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "apps/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "core/random.h"
#include "core/runtime.h"
#include "data/batch.h"
#include "eval/search.h"
#include "models/attention/attention.h"
#include "models/attention/scorer.h"
#include "models/seq2seq.h"

namespace seqlab::apps {
namespace {

using Clock = std::chrono::steady_clock;

// The reference configuration: emb 256, hidden 512, bidirectional GRU, no attention,
// joint vocabulary 8k.
Config bench_config(const std::vector<std::string>& sets) {
  Json json = {{"model",
                {{"encoder", "rnn"},
                 {"decoder", "rnn"},
                 {"cell", "gru"},
                 {"embedding_dim", 256},
                 {"hidden_dim", 512},
                 {"bidirectional", true},
                 {"dropout", 0.1}}}};
  return Config::from_json(json, sets, "bench");
}

// Sentence pairs with UI-corpus-like lengths (5-25 tokens, target ~1.1x source).
std::vector<Example> synthetic_pairs(int64_t count, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<Example> out;
  for (int64_t i = 0; i < count; ++i) {
    Example ex;
    int64_t source_len = 5 + static_cast<int64_t>(rng.below(21));
    int64_t target_len = std::max<int64_t>(3, source_len + static_cast<int64_t>(rng.below(7)) - 2);
    for (int64_t t = 0; t < source_len; ++t) ex.source.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    for (int64_t t = 0; t < target_len; ++t) ex.target.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    out.push_back(ex);
  }
  return out;
}

Source source_of(const Batch& batch) { return {batch.source, batch.source_lengths, batch.source_mask, {}}; }

Json bench_train(const Config& config, int64_t batch_tokens, int64_t steps) {
  const int64_t vocab = 8000;
  torch::manual_seed(0);
  Seq2Seq model(config, vocab, vocab);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  auto examples = synthetic_pairs(20000, vocab, 1);
  TokenBucketBatcher batcher(examples, batch_tokens, 0, 1);
  auto batches = batcher.epoch(0);
  int64_t tokens = 0;
  double seconds = 0;
  for (int64_t s = 0; s < steps + 3; ++s) {
    Batch batch = collate(examples, batches[static_cast<size_t>(s) % batches.size()]);
    auto start = Clock::now();
    auto logits = model->forward(source_of(batch), batch.target_in);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, vocab}), batch.target_out.reshape(-1),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(0).label_smoothing(0.1));
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optimizer.step();
    if (s >= 3) {  // the first steps warm up allocators and caches
      seconds += std::chrono::duration<double>(Clock::now() - start).count();
      tokens += batch.target_tokens;
    }
  }
  return {{"benchmark", "train"},
          {"model", "gru bidirectional, emb 256, hidden 512, no attention, vocab 8000"},
          {"batch_tokens", batch_tokens},
          {"steps", steps},
          {"threads", at::get_num_threads()},
          {"target_tokens_per_s", double(tokens) / seconds}};
}

Json bench_decode(const Config& config, int64_t sentences) {
  const int64_t vocab = 8000;
  torch::manual_seed(0);
  Seq2Seq model(config, vocab, vocab);
  model->eval();
  auto examples = synthetic_pairs(sentences, vocab, 2);
  Json result = {{"benchmark", "decode"}, {"sentences", sentences}, {"threads", at::get_num_threads()}};
  for (int64_t beam : {1, 5}) {
    SearchOptions options;
    options.beam = beam;
    options.max_length_ratio = 1.2;
    options.max_length_extra = 2;
    TokenBucketBatcher batcher(examples, std::max<int64_t>(64, 2000 / beam), 0, 0);
    auto start = Clock::now();
    int64_t produced = 0;
    for (const auto& indices : batcher.sorted()) {
      Batch batch = collate(examples, indices);
      auto found = search(model, source_of(batch), options);
      for (const auto& h : found) produced += static_cast<int64_t>(h.tokens.size());
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::string name = beam == 1 ? "greedy" : "beam5";
    result[name] = {{"sentences_per_s", double(sentences) / seconds},
                    {"tokens_per_s", double(produced) / seconds}};
  }
  return result;
}

// Forward + backward of each registered scorer with masking and the weighted sum, at a fixed size
// (batch 32, 32 queries of width 256 over 64 keys of width 512, as a bidirectional encoder gives).
Json bench_attention(int64_t repeats) {
  const int64_t batch = 32, queries = 32, keys = 64, query_dim = 256, key_dim = 512;
  Json result = {{"benchmark", "attention"},
                 {"shape", {{"batch", batch}, {"queries", queries}, {"keys", keys},
                            {"query_dim", query_dim}, {"key_dim", key_dim}}},
                 {"threads", at::get_num_threads()}};
  Json scorers = Json::object();
  torch::manual_seed(0);
  auto q = torch::randn({batch, queries, query_dim}).requires_grad_(true);
  auto k = torch::randn({batch, keys, key_dim}).requires_grad_(true);
  auto mask = torch::arange(keys).unsqueeze(0) < torch::randint(keys / 2, keys + 1, {batch}).unsqueeze(1);
  for (const auto& name : ScorerRegistry().names()) {
    int64_t key_width = name == "dot" ? query_dim : key_dim;  // dot needs equal widths
    auto keys_in = name == "dot" ? k.narrow(-1, 0, query_dim) : k;
    auto scorer = ScorerRegistry().create(name, ScorerDims{query_dim, key_width, query_dim});
    double seconds = 0;
    for (int64_t r = 0; r < repeats + 2; ++r) {
      auto start = Clock::now();
      auto weights = attention_weights(scorer->forward(q, keys_in), mask);  // [B, Tq, Tk]
      auto context = torch::bmm(weights, keys_in);                         // [B, Tq, Dk]
      context.sum().backward();
      if (r >= 2) seconds += std::chrono::duration<double>(Clock::now() - start).count();
    }
    scorers[name] = {{"forward_backward_ms", 1000.0 * seconds / double(repeats)}};
  }
  result["scorers"] = scorers;
  return result;
}

}  // namespace

void add_bench_command(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "Measure training and decoding throughput");
  struct Args {
    std::string what;
    bool json = false;
    int64_t threads = 0, steps = 20, sentences = 500, batch_tokens = 4000;
    std::vector<std::string> sets;
  };
  auto args = std::make_shared<Args>();
  bench->add_option("what", args->what, "train, decode or attention")
      ->required()
      ->check(CLI::IsMember({"train", "decode", "attention"}));
  bench->add_option("--threads", args->threads, "CPU threads (default: all cores)");
  bench->add_option("--steps", args->steps, "train: timed steps; attention: repeats");
  bench->add_option("--sentences", args->sentences, "decode: sentences");
  bench->add_option("--batch-tokens", args->batch_tokens, "train: padded tokens per batch");
  bench->add_option("--set", args->sets, "Override a model key of the benchmark configuration");
  bench->add_flag("--json", args->json, "Print one JSON object");
  bench->callback([&action, args] {
    action = [args] {
      configure_threads(static_cast<int>(args->threads));
      warn_if_slow_blas();
      Config config = bench_config(args->sets);
      Json result;
      if (args->what == "train") result = bench_train(config, args->batch_tokens, args->steps);
      else if (args->what == "decode") result = bench_decode(config, args->sentences);
      else result = bench_attention(args->steps);
      if (args->json) print_json(result.dump());
      else std::cout << result.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps
