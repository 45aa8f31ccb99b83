// The benchmark workloads: fixed configurations timed on synthetic data of realistic lengths, so
// numbers are comparable across machines and commits (docs/benchmarks.md lists them with the
// machine).
#include <chrono>
#include <iostream>
#include <numeric>

#include <fmt/format.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/random.h"
#include "core/runtime.h"
#include "data/batch.h"
#include "eval/search.h"
#include "models/attention/attention.h"
#include "models/attention/scorer.h"
#include "models/seq2seq.h"
#include "train/distributed.h"
#include "train/launch.h"
#include "train/training_data.h"

namespace seqlab {

std::pair<double, double> time_training(Seq2Seq& model, const std::vector<Example>& examples,
                                        const std::vector<std::vector<int64_t>>& batches,
                                        int64_t steps, const DataParallelPart* part) {
  constexpr int64_t kWarmup = 3;
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  int64_t tokens = 0;
  double seconds = 0;
  for (int64_t s = 0; s < steps + kWarmup; ++s) {
    const auto& global = batches[static_cast<size_t>(s) % batches.size()];
    const auto mine = part ? shard_batch(global, part->rank, part->world_size) : global;
    Batch batch;
    if (!mine.empty()) batch = collate(examples, mine);
    const int64_t batch_tokens = part ? count_target_tokens(examples, global) : batch.target_tokens;
    if (s == kWarmup && part) {  // every rank starts the timed steps together
      part->communicator->barrier();
      part->reducer->reset_wait_seconds();
    }
    const auto start = std::chrono::steady_clock::now();
    train_step(model, optimizer, batch, /*smoothing=*/0.1, /*clip=*/1.0, batch_tokens,
               part ? part->reducer : nullptr);  // the trainer's step
    if (s >= kWarmup) {
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      tokens += batch_tokens;
    }
  }
  return {double(tokens) / seconds, seconds / double(steps)};
}

// Reference configurations (joint vocabulary 8k): "gru" is emb 256, hidden 512, bidirectional GRU
// without attention; "gru-bahdanau" adds additive attention; "transformer" is 3+3 layers,
// d_model 256, 4 heads, feed-forward 1024 (the sizes of docs/benchmarks.md's 20-minute comparison,
// with separate source, target and output embeddings). A file name instead reads the "model"
// section of a config.
Config bench_config(const std::string& preset, const std::vector<std::string>& sets) {
  Json gru = {{"encoder", "rnn"},  {"decoder", "rnn"},      {"cell", "gru"}, {"embedding_dim", 256},
              {"hidden_dim", 512}, {"bidirectional", true}, {"dropout", 0.1}};
  Json model;
  if (preset == "gru") {
    model = gru;
  } else if (preset == "gru-bahdanau") {
    model = gru;
    model["decoder"] = "bahdanau";
    model["attention"] = "additive";
  } else if (preset == "transformer") {
    model = {{"encoder", "transformer"},
             {"decoder", "transformer"},
             {"dropout", 0.1},
             {"transformer",
              {{"d_model", 256},
               {"heads", 4},
               {"ffn_dim", 1024},
               {"encoder_layers", 3},
               {"decoder_layers", 3}}}};
  } else {
    model = Config::from_file(preset).resolved().at("model");
  }
  return Config::from_json(Json{{"model", model}}, sets, "bench");
}

std::string describe(const Config& config, const Seq2Seq& model) {
  return fmt::format("encoder {}, decoder {}, {:.1f}M parameters, vocab 8000",
                     config.get_string("model.encoder"), config.get_string("model.decoder"),
                     double(model->parameter_count()) / 1e6);
}

// Sentence pairs with UI-corpus-like lengths (5-25 tokens, target ~1.1x source).
std::vector<Example> synthetic_pairs(int64_t count, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<Example> out;
  for (int64_t i = 0; i < count; ++i) {
    Example ex;
    int64_t source_len = 5 + static_cast<int64_t>(rng.below(21));
    int64_t target_len = std::max<int64_t>(3, source_len + static_cast<int64_t>(rng.below(7)) - 2);
    for (int64_t t = 0; t < source_len; ++t)
      ex.source.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    for (int64_t t = 0; t < target_len; ++t)
      ex.target.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    out.push_back(ex);
  }
  return out;
}

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

namespace {

// Pairs whose source and target both have exactly `length` tokens.
std::vector<Example> fixed_length_pairs(int64_t count, int64_t length, int64_t vocab,
                                        uint64_t seed) {
  Rng rng(seed);
  std::vector<Example> out(static_cast<size_t>(count));
  for (auto& ex : out)
    for (int64_t t = 0; t < length; ++t) {
      ex.source.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
      ex.target.push_back(4 + static_cast<int64_t>(rng.below(vocab - 4)));
    }
  return out;
}

}  // namespace

Json bench_train(const Config& config, int64_t batch_tokens, int64_t steps,
                 const std::vector<int64_t>& lengths) {
  const int64_t vocab = 8000;
  torch::manual_seed(0);
  Seq2Seq model(config, vocab, vocab);
  Json result = {{"benchmark", "train"},
                 {"model", describe(config, model)},
                 {"batch_tokens", batch_tokens},
                 {"steps", steps},
                 {"threads", at::get_num_threads()}};
  if (lengths.empty()) {  // UI-corpus-like lengths
    auto examples = synthetic_pairs(20000, vocab, 1);
    TokenBucketBatcher batcher(examples, batch_tokens, 0, 1);
    result["target_tokens_per_s"] = time_training(model, examples, batcher.epoch(0), steps).first;
    return result;
  }
  // Fixed lengths, about batch_tokens target tokens per batch: how the cost per token grows.
  Json by_length = Json::array();
  for (int64_t length : lengths) {
    int64_t sentences = std::max<int64_t>(1, batch_tokens / length);
    auto examples = fixed_length_pairs(sentences, length, vocab, 3);
    std::vector<int64_t> all(static_cast<size_t>(sentences));
    std::iota(all.begin(), all.end(), 0);
    auto [tokens_per_s, seconds] = time_training(model, examples, {all}, steps);
    by_length.push_back({{"length", length},
                         {"sentences", sentences},
                         {"target_tokens_per_s", tokens_per_s},
                         {"ms_per_step", 1000.0 * seconds}});
  }
  result["by_length"] = by_length;
  return result;
}

namespace {

// Greedy and beam-5 decoding of an untrained model (so every hypothesis runs to the length limit,
// 1.2 x source + 2): sentences and tokens per second into result["greedy" + suffix] and
// result["beam5" + suffix].
void decode_throughput(const Config& config, const std::vector<Example>& examples,
                       const std::string& suffix, Json& result,
                       Precision precision = Precision::fp32) {
  const int64_t vocab = 8000;
  const auto sentences = static_cast<int64_t>(examples.size());
  torch::manual_seed(0);
  Seq2Seq model(config, vocab, vocab);
  model->eval();
  std::unique_ptr<Int8Weights> int8;
  if (precision == Precision::int8) int8 = std::make_unique<Int8Weights>(*model);
  result["model"] = describe(config, model);
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
      auto found = search(model, Source::of(batch), options);
      for (const auto& h : found) produced += static_cast<int64_t>(h.tokens.size());
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::string name = (beam == 1 ? "greedy" : "beam5") + suffix;
    result[name] = {{"sentences_per_s", double(sentences) / seconds},
                    {"tokens_per_s", double(produced) / seconds}};
  }
}

}  // namespace

// Transformers are also timed with model.transformer.kv_cache = false, which recomputes the whole
// prefix at every step: the cache's speed-up. With int8, the same model is timed again with int8
// weights: "greedy_int8", "beam5_int8" and their speed-ups over fp32.
Json bench_decode(const Config& config, int64_t sentences, const std::vector<int64_t>& lengths,
                  Precision precision) {
  const int64_t vocab = 8000;
  auto measure = [&](const std::vector<Example>& examples, Json& into) {
    decode_throughput(config, examples, "", into);
    if (precision == Precision::int8) {
      decode_throughput(config, examples, "_int8", into, Precision::int8);
      for (std::string name : {"greedy", "beam5"})
        into[name + "_int8_speedup"] = into[name + "_int8"]["tokens_per_s"].get<double>() /
                                       into[name]["tokens_per_s"].get<double>();
    }
    if (config.get_string("model.decoder") != "transformer") return;
    decode_throughput(config.with("model.transformer.kv_cache=false"), examples, "_no_cache", into);
    for (std::string name : {"greedy", "beam5"})
      into[name + "_cache_speedup"] = into[name]["sentences_per_s"].get<double>() /
                                      into[name + "_no_cache"]["sentences_per_s"].get<double>();
  };
  Json result = {
      {"benchmark", "decode"}, {"sentences", sentences}, {"threads", at::get_num_threads()}};
  if (precision == Precision::int8) result["int8_path"] = describe_int8_path();
  if (lengths.empty()) {  // UI-corpus-like sources of 5-25 tokens
    measure(synthetic_pairs(sentences, vocab, 2), result);
    return result;
  }
  Json by_length = Json::array();
  for (int64_t length : lengths) {  // sources of exactly `length` tokens
    Json entry = {{"length", length}};
    measure(fixed_length_pairs(sentences, length, vocab, 4), entry);
    result["model"] = entry["model"];
    entry.erase("model");
    by_length.push_back(entry);
  }
  result["by_length"] = by_length;
  return result;
}

// Forward + backward of each registered scorer with masking and the weighted sum, at a fixed size
// (batch 32, 32 queries of width 256 over 64 keys of width 512, as a bidirectional encoder gives).
Json bench_attention(int64_t repeats) {
  const int64_t batch = 32, queries = 32, keys = 64, query_dim = 256, key_dim = 512;
  Json result = {{"benchmark", "attention"},
                 {"shape",
                  {{"batch", batch},
                   {"queries", queries},
                   {"keys", keys},
                   {"query_dim", query_dim},
                   {"key_dim", key_dim}}},
                 {"threads", at::get_num_threads()}};
  Json scorers = Json::object();
  torch::manual_seed(0);
  auto q = torch::randn({batch, queries, query_dim}).requires_grad_(true);
  auto k = torch::randn({batch, keys, key_dim}).requires_grad_(true);
  auto mask =
      torch::arange(keys).unsqueeze(0) < torch::randint(keys / 2, keys + 1, {batch}).unsqueeze(1);
  for (const auto& name : scorer_registry().names()) {
    int64_t key_width = name == "dot" ? query_dim : key_dim;  // dot needs equal widths
    auto keys_in = name == "dot" ? k.narrow(-1, 0, query_dim) : k;
    auto scorer = scorer_registry().create(name, ScorerDims{query_dim, key_width, query_dim});
    double seconds = 0;
    for (int64_t r = 0; r < repeats + 2; ++r) {
      auto start = Clock::now();
      auto weights = attention_weights(scorer->forward(q, keys_in), mask);  // [B, Tq, Tk]
      auto context = torch::bmm(weights, keys_in);                          // [B, Tq, Dk]
      context.sum().backward();
      if (r >= 2) seconds += std::chrono::duration<double>(Clock::now() - start).count();
    }
    scorers[name] = {{"forward_backward_ms", 1000.0 * seconds / double(repeats)}};
  }
  result["scorers"] = scorers;
  return result;
}

SEQLAB_DEFINE_REGISTRY(benchmark_registry, "benchmarks");

namespace {

const bool train_added = benchmark_registry().add(
    "train",
    [](const BenchmarkRequest& r) {
      return bench_train(bench_config(r.model, r.sets), r.batch_tokens, r.steps, r.lengths);
    },
    "timed training steps (forward, backward, AdamW) on synthetic pairs: tokens/s, ms per step");
const bool decode_added = benchmark_registry().add(
    "decode",
    [](const BenchmarkRequest& r) {
      return bench_decode(bench_config(r.model, r.sets), r.sentences, r.lengths,
                          parse_precision(r.precision));
    },
    "greedy and beam-5 decoding of an untrained model: sentences/s (transformers with and without "
    "the key/value cache)");
const bool attention_added = benchmark_registry().add(
    "attention", [](const BenchmarkRequest& r) { return bench_attention(r.steps); },
    "forward + backward of every registered scorer at a fixed size");

}  // namespace

}  // namespace seqlab
