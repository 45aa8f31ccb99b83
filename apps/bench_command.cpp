// seqlab bench: flag parsing and printing; the measurements are the bench/ layer's (bench/bench.h).
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "bench/bench.h"
#include "core/log.h"
#include "core/runtime.h"
#include "train/launch.h"

namespace seqlab::apps {

void add_bench_command(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "Measure training and decoding throughput");
  struct Args {
    std::string what, preset = "gru", python = "/usr/bin/python3", precision = "fp32";
    std::vector<int64_t> lengths;
    std::vector<std::string> models;
    bool json = false, profile = false, worker = false, fp32_only = false;
    int nproc = 0;
    double gbit_per_s = 10, latency_us = 50;
    int64_t threads = 0, steps = 20, sentences = 500, batch_tokens = 4000, rounds = 3, warmup = 2;
    FitBenchOptions fit;
    std::vector<std::string> sets;
    DataBenchOptions data;
    DataCellOptions cell;
    bool data_cell = false;
  };
  auto args = std::make_shared<Args>();
  std::vector<std::string> whats = benchmark_registry().names();
  whats.insert(whats.end(), {"fit", "compare", "data"});
  bench
      ->add_option("what", args->what,
                   fmt::format("{} (`seqlab list benchmarks`), fit (the ridge readout fit against "
                               "the machine's GEMM), or compare (seqlab against the same models "
                               "in Python PyTorch, side by side in one run), or data (the data "
                               "layer at 1x/10x/100x ui-fr and on 100k images, from memory and "
                               "streamed)",
                               fmt::join(benchmark_registry().names(), ", ")))
      ->required()
      ->check(CLI::IsMember(whats));
  bench
      ->add_option("--rows", args->fit.rows, "fit: states streamed into the sums (default 1000000)")
      ->check(CLI::Range(int64_t(1), int64_t(1e10)));
  bench->add_option("--units", args->fit.units, "fit: reservoir units (default 1000)")
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  bench->add_option("--outputs", args->fit.outputs, "fit: one-hot output classes (default 8000)")
      ->check(CLI::Range(int64_t(1), int64_t(10000000)));
  bench->add_option("--threads", args->threads, "CPU threads (default: all cores)");
  bench->add_option("--steps", args->steps,
                    "train: timed steps (compare: per round, default 10); attention: repeats");
  bench->add_option("--sentences", args->sentences,
                    "decode: sentences (compare: per round, default 200)");
  bench->add_option("--batch-tokens", args->batch_tokens,
                    "train, compare: padded tokens per batch");
  bench->add_option(
      "--model", args->preset,
      "train/decode: gru, gru-bahdanau, transformer, or a config file's model section");
  bench
      ->add_option("--models", args->models,
                   "compare: which of gru, gru-bahdanau, transformer (default all)")
      ->delimiter(',');
  bench->add_option("--rounds", args->rounds,
                    "compare: alternating measurements per model and task (default 3)");
  bench->add_option("--warmup", args->warmup,
                    "compare: untimed training steps before each round's (default 2)");
  bench->add_option(
      "--python", args->python,
      "compare: the Python interpreter with PyTorch (default /usr/bin/python3, Debian's)");
  bench
      ->add_option("--lengths", args->lengths,
                   "train/decode: fixed source (and target) lengths to time instead, e.g. 16,32,64")
      ->delimiter(',');
  bench->add_option("--set", args->sets, "Override a model key of the benchmark configuration");
  bench
      ->add_option("--precision", args->precision,
                   "decode: int8 also times the model with int8 weights beside fp32")
      ->check(CLI::IsMember({"fp32", "int8"}));
  bench->add_flag("--fp32-only", args->fp32_only,
                  "compare: time decoding in fp32 only (default: also with int8 weights, a "
                  "lexical shortlist, and both, on both sides)");
  bench->add_flag("--profile", args->profile,
                  "compare: also profile a training pass and a greedy decoding pass on "
                  "each side (self time per operator)");
  bench
      ->add_option(
          "--nproc", args->nproc,
          "train: data-parallel scaling with 1, 2, 4, ... and N processes (--threads each, "
          "default 1): throughput, all-reduce time, and a model on paper for larger clusters")
      ->check(CLI::Range(1, 1024));
  bench
      ->add_option("--bandwidth", args->gbit_per_s,
                   "train --nproc: the paper model's network, Gbit/s (default 10)")
      ->check(CLI::PositiveNumber);
  bench
      ->add_option("--latency", args->latency_us,
                   "train --nproc: the paper model's latency per message, us (default 50)")
      ->check(CLI::NonNegativeNumber);
  bench->add_flag("--worker", args->worker, "")
      ->group("");  // one process of a --nproc run (hidden)
  bench
      ->add_option("--scales", args->data.scales,
                   "data: copies of ui-fr's training split to measure (default 1,10,100)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  bench
      ->add_option("--images", args->data.images,
                   "data: generated captioning images (default 100000; 0 = none)")
      ->check(CLI::Range(int64_t(0), int64_t(100000000)));
  bench
      ->add_option("--modes", args->data.modes,
                   "data: memory, stream or both (default memory,stream)")
      ->delimiter(',')
      ->check(CLI::IsMember({"memory", "stream"}));
  bench->add_option("--work", args->data.work,
                    "data: where corpora, runs and logs go (default <data cache>/bench-data)");
  bench->add_flag("--cell", args->data_cell, "")->group("");  // one cell of `bench data` (hidden)
  bench->add_option("--task", args->cell.task, "")->group("");
  bench->add_option("--corpus", args->cell.corpus, "")->group("");
  bench->add_option("--mode", args->cell.mode, "")->group("");
  bench->add_option("--run", args->cell.run_dir, "")->group("");
  bench
      ->add_option("--image-size", args->data.image_size, "data: image side in pixels (default 64)")
      ->check(CLI::Range(int64_t(8), int64_t(1024)));
  bench->add_flag("--json", args->json, "Print one JSON object");
  bench->callback([&action, args, bench] {
    bool steps_given = bench->count("--steps") > 0,
         sentences_given = bench->count("--sentences") > 0;
    action = [args, steps_given, sentences_given] {
      configure_threads(static_cast<int>(args->threads));
      if (!args->worker) warn_if_slow_blas();  // the launcher checks once, not every worker at once
      if (args->what == "compare") {
        CompareOptions options;
        if (!args->models.empty()) options.models = args->models;
        options.rounds = args->rounds;
        options.warmup = args->warmup;
        if (steps_given) options.steps = args->steps;
        if (sentences_given) options.sentences = args->sentences;
        options.batch_tokens = args->batch_tokens;
        options.python = args->python;
        options.profile = args->profile;
        options.decode_options = !args->fp32_only;
        Json result = bench_compare(options);
        if (args->json)
          print_json(result.dump());
        else
          std::cout << format_compare(result);
        return 0;
      }
      if (args->what == "data") {
        Json result;
        if (args->data_cell) {
          DataCellOptions cell = args->cell;
          cell.steps = steps_given ? args->steps : 200;
          cell.image_size = args->data.image_size;
          result = bench_data_cell(cell);
        } else {
          DataBenchOptions options = args->data;
          if (steps_given) options.steps = args->steps;
          result = bench_data(options);
        }
        if (args->json || args->data_cell)
          print_json(result.dump());
        else
          std::cout << format_data(result);
        return 0;
      }
      if (args->what == "fit") {
        Json result = bench_fit(args->fit);
        if (args->json)
          print_json(result.dump());
        else
          std::cout << format_fit(result);
        return 0;
      }
      if (args->what == "train" && args->worker) {  // one process of a scaling run: rank 0 reports
        Json result = bench_train_worker(bench_config(args->preset, args->sets), args->batch_tokens,
                                         args->steps,
                                         args->threads > 0 ? static_cast<int>(args->threads) : 1);
        if (console_rank() == 0) print_json(result.dump());
        return 0;
      }
      if (args->what == "train" && args->nproc > 0) {
        std::vector<std::string> worker =
            worker_command_line(command_line(), {"--nproc"}, {"--json"});
        worker.push_back("--worker");
        Json result = bench_train_scaling(worker, args->nproc,
                                          args->threads > 0 ? static_cast<int>(args->threads) : 1,
                                          args->gbit_per_s, args->latency_us);
        if (args->json)
          print_json(result.dump());
        else
          std::cout << format_scaling(result);
        return 0;
      }
      BenchmarkRequest request;
      request.model = args->preset;
      request.sets = args->sets;
      request.steps = args->steps;
      request.sentences = args->sentences;
      request.batch_tokens = args->batch_tokens;
      request.lengths = args->lengths;
      request.precision = args->precision;
      Json result = benchmark_registry().create(args->what, request);
      if (args->json)
        print_json(result.dump());
      else
        std::cout << result.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps
