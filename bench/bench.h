// The measurements of `seqlab bench` (apps/bench_command.cpp parses its flags and prints): the
// reference model configurations and the synthetic data they are timed on (bench/workloads.cpp),
// the side-by-side comparison with the same models in Python PyTorch (bench/compare.cpp, the twins
// in bench/pytorch_twins.py), the ridge fit (bench/fit.cpp), data-parallel scaling
// (bench/scaling.cpp); Mackey-Glass forecasting has its own header (bench/forecast.h).
//
// The benchmarks a bench cell of an experiment can name ("bench": {"what": NAME}) are registered
// by name like every other component (benchmark_registry below; `seqlab list benchmarks`): adding
// one is a file that registers a function of a BenchmarkRequest, and `seqlab bench NAME` and the
// runner pick it up.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/int8_gemm.h"
#include "core/registry.h"
#include "data/batch.h"
#include "models/seq2seq.h"

namespace seqlab {
class Communicator;
class GradientReducer;

}  // namespace seqlab

namespace seqlab {

constexpr int64_t kBenchVocab = 8000;

// "gru", "gru-bahdanau", "transformer", or a config file whose "model" section is used.
Config bench_config(const std::string& preset, const std::vector<std::string>& sets);

// "encoder rnn, decoder rnn, 12.3M parameters, vocab 8000"
std::string describe(const Config& config, const Seq2Seq& model);

// One process's part in a data-parallel benchmark (bench/scaling.cpp).
struct DataParallelPart {
  Communicator* communicator;
  GradientReducer* reducer;
  int rank, world_size;
};

// Timed training steps (forward, backward, clipping, AdamW) over `batches`; the first steps warm
// up allocators and caches and are not counted. -> target tokens per second, seconds per step.
// With `part`, `batches` are global: this process trains on its slice of each and the tokens
// counted are the global batch's.
std::pair<double, double> time_training(Seq2Seq& model, const std::vector<Example>& examples,
                                        const std::vector<std::vector<int64_t>>& batches,
                                        int64_t steps, const DataParallelPart* part = nullptr);

// Sentence pairs with UI-corpus-like lengths (5-25 tokens, target ~1.1x source).
std::vector<Example> synthetic_pairs(int64_t count, int64_t vocab, uint64_t seed);

// `seqlab bench train`: timed training steps of `config`'s model on synthetic pairs (or, with
// `lengths`, on pairs of each fixed length): target tokens/s, ms per step, peak memory.
nlohmann::json bench_train(const Config& config, int64_t batch_tokens, int64_t steps,
                           const std::vector<int64_t>& lengths);
// `seqlab bench decode`: greedy and beam-5 decoding of an untrained model (transformers also
// without the key/value cache; with int8, also with int8 weights).
nlohmann::json bench_decode(const Config& config, int64_t sentences,
                            const std::vector<int64_t>& lengths,
                            Precision precision = Precision::fp32);
// `seqlab bench attention`: forward + backward of every registered scorer at a fixed size.
nlohmann::json bench_attention(int64_t repeats);

// What `seqlab bench NAME` (or a bench cell) asks of a registered benchmark.
struct BenchmarkRequest {
  std::string model = "gru";       // --model: a preset or a config file (bench_config)
  std::vector<std::string> sets;   // --set: model overrides
  int64_t steps = 20;              // --steps: timed steps (or repeats)
  int64_t sentences = 500;         // --sentences: sentences decoded
  int64_t batch_tokens = 4000;     // --batch-tokens: padded tokens per training batch
  std::vector<int64_t> lengths;    // --lengths: fixed lengths to time, each a "by_length" row
  std::string precision = "fp32";  // --precision: int8 adds int8 decoding beside fp32
};

// Name -> the benchmark; its result is one JSON object with "benchmark" (the name) and, for
// measurements by length, "by_length": [{"length": L, metric: value, ...}] (what a bench cell's
// store rows and report figures are made from).
SEQLAB_DECLARE_REGISTRY(benchmark_registry, nlohmann::json, const BenchmarkRequest&);

struct CompareOptions {
  std::vector<std::string> models = {"gru", "gru-bahdanau", "transformer"};
  int64_t rounds = 3;  // alternating measurements per model and task
  int64_t steps = 10;  // timed training steps per round (after `warmup` untimed ones)
  int64_t warmup = 2;
  int64_t batch_tokens = 4000;  // padded tokens per training batch
  int64_t sentences = 200;      // decoded per round and beam width
  bool profile = false;         // also profile a training pass per side: self time per operator
  // Also time decoding with int8 weights, with a lexical shortlist and with both, on both sides.
  bool decode_options = true;
  std::string python = "/usr/bin/python3";  // Debian's, where python3-torch is installed
};

// Runs seqlab and the Python twins (bench/pytorch_twins.py) on one workload, alternating, and
// returns the machine, the GEMM rate and, per model and task, both rates and their ratios.
nlohmann::json bench_compare(const CompareOptions& options);

// The comparison as a table for a terminal.
std::string format_compare(const nlohmann::json& result);

struct FitBenchOptions {
  int64_t rows = 1000000;  // states streamed into the ridge sums
  int64_t units = 1000;
  int64_t outputs = 8000;  // one-hot classes (a vocabulary)
  int64_t chunk = 8192;    // rows per streamed batch
  int64_t sequences = 64;  // state collection: sequences run at once
  int64_t steps = 200;     // and their length
};

// The ridge fit against plain fp32 / fp64 X^T X of the same stream, and state collection speed.
nlohmann::json bench_fit(const FitBenchOptions& options);
std::string format_fit(const nlohmann::json& result);

// `bench train --nproc N`: one worker of a scaling run (started by the launcher, torchrun's
// environment): timed data-parallel steps; rank 0's figures.
nlohmann::json bench_train_worker(const Config& config, int64_t batch_tokens, int64_t steps,
                                  int threads);
// Launches `worker_argv` with 1, 2, 4, ... and `nproc` processes and collects rank 0's figures,
// with the model on paper for 2, 8 and 64 processes at `gbit_per_s` and `latency_us`.
nlohmann::json bench_train_scaling(const std::vector<std::string>& worker_argv, int nproc,
                                   int threads, double gbit_per_s, double latency_us);
std::string format_scaling(const nlohmann::json& result);

// `seqlab bench data` (bench/data.cpp): the data layer as the corpus grows, read from memory and
// streamed (data.streaming), one process per cell.
struct DataBenchOptions {
  std::vector<int64_t> scales = {1, 10, 100};  // copies of ui-fr's training split (with variation)
  int64_t images = 100000;                     // generated captioning images; 0 = none
  int64_t image_size = 64;
  int64_t steps = 200;  // training updates per cell
  std::vector<std::string> modes = {"memory", "stream"};
  std::string work;  // corpora, runs and cell logs; default <data cache>/bench-data
};
struct DataCellOptions {
  std::string task = "translation", corpus, mode = "stream", run_dir;
  int64_t steps = 200, image_size = 64;
};
nlohmann::json bench_data(const DataBenchOptions& options);
// One cell, in its own process: prepare (tokenizer, shards), the first batch, the loader alone,
// then `steps` training updates with the loader beside the trainer; peak memory.
nlohmann::json bench_data_cell(const DataCellOptions& options);
std::string format_data(const nlohmann::json& result);
// ui-fr's training split `scale` times (copy r > 0 shuffled, each side marked "(r)"), with its
// valid and test splits, as a corpus directory.
void write_scaled_corpus(const std::string& base, int64_t scale, const std::string& out);
// A captioning corpus of `images` generated PNG scenes (a coloured square in a corner).
void write_scenes_corpus(const std::string& out, int64_t images, int64_t size);

}  // namespace seqlab
