#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/utf8.h"
#include "data/image.h"
#include "data/task.h"
#include "eval/caption.h"
#include "eval/classify.h"
#include "eval/stream_translate.h"
#include "train/evaluate.h"
#include "train/run_directory.h"

namespace seqlab::apps {
namespace {

// Standard input, one line each (a trailing \r dropped), every line checked for UTF-8.
std::vector<std::string> read_stdin_lines() {
  std::vector<std::string> lines;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    require_utf8(line, fmt::format("stdin:{}", lines.size() + 1));
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

void add_precision_option(CLI::App* command, std::string& precision) {
  command
      ->add_option("--precision", precision,
                   "fp32, or int8: linear layers' weights quantized per output channel "
                   "(default: the run's eval.precision)")
      ->check(CLI::IsMember({"fp32", "int8"}));
}

void add_eval_command(CLI::App& app, Action& action) {
  auto* eval =
      app.add_subcommand("eval", "Translate (or caption) a split of the run's corpus and score it");
  struct Args {
    std::string run, split = "test", device, precision;
    int64_t beam = 0, attention_maps = 0, shortlist = -1;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  eval->add_option("--run", args->run, "Run directory")->required();
  eval->add_option("--attention-maps", args->attention_maps,
                   "Also draw the attention maps of the first N sentences into RUN/attention/");
  eval->add_option("--split", args->split, "valid or test")
      ->check(CLI::IsMember({"valid", "test"}));
  eval->add_option("--beam", args->beam, "Beam size (default: the run's eval.beam; 1 = greedy)")
      ->check(CLI::Range(1, 256));
  eval->add_option("--device", args->device, "Override the run's device");
  add_precision_option(eval, args->precision);
  eval->add_option("--shortlist", args->shortlist,
                   "Translation: decode over a lexical shortlist of K candidates per source token "
                   "(0 = none; default: the run's eval.shortlist)")
      ->check(CLI::Range(0, 100000));
  eval->add_flag("--json", args->json, "Print one JSON object");
  eval->callback([&action, args] {
    action = [args] {
      EvaluateOptions options;
      options.split = args->split;
      options.beam = args->beam;
      options.device = args->device;
      options.precision = args->precision;
      options.shortlist = args->shortlist;
      options.attention_maps = args->attention_maps;
      Json result = evaluate_run(args->run, options);
      if (args->json) {
        print_json(result.dump());
      } else if (result.contains("perplexity")) {
        std::cout << fmt::format(
            "{} {} ({} sequences, {} tokens)\nperplexity = {:.3f} (unigram {:.3f}, bigram {:.3f})\n"
            "next-token accuracy = {:.2f}% (bigram {:.2f}%)\n",
            args->run, args->split, result["sequences"].get<size_t>(),
            result["tokens"].get<int64_t>(), result["perplexity"].get<double>(),
            result["unigram_perplexity"].get<double>(), result["bigram_perplexity"].get<double>(),
            result["accuracy"].get<double>(), result["bigram_accuracy"].get<double>());
      } else if (result.contains("confusion")) {
        std::cout << fmt::format("{} {} ({} sentences)\naccuracy = {:.2f}%\nmacro-F1 = {:.2f}%\n{}",
                                 args->run, args->split, result["sentences"].get<size_t>(),
                                 result["accuracy"].get<double>(), result["macro_f1"].get<double>(),
                                 confusion_table(result));
      } else if (result.contains("cider")) {
        std::cout << fmt::format(
            "{} {} (beam {}, {} images, all captions as references)\nCIDEr-D = {:.4f}\n{}\n"
            "exact match = {:.2f}%\n",
            args->run, args->split, result["beam"].get<int64_t>(), result["images"].get<size_t>(),
            result["cider"].get<double>(), result["bleu_summary"].get<std::string>(),
            result["exact_match"].get<double>());
      } else {
        std::cout << fmt::format(
            "{} {} (beam {}, {} sentences)\n{}\nchrF2 = {:.2f}\n", args->run, args->split,
            result["beam"].get<int64_t>(), result["sentences"].get<size_t>(),
            result["bleu_summary"].get<std::string>(), result["chrf"].get<double>());
        std::cout << "BLEU by source length:";
        for (const auto& bucket : result["bleu_by_source_length"])
          std::cout << fmt::format("  {} words: {:.2f} ({})", bucket["words"].get<std::string>(),
                                   bucket["bleu"].get<double>(), bucket["sentences"].get<size_t>());
        std::cout << "\n";
      }
      return 0;
    };
  });
}

void add_translate_command(CLI::App& app, Action& action) {
  auto* translate = app.add_subcommand(
      "translate",
      "Translate stdin to stdout, one line each, as a stream (any size of input; output in input "
      "order)");
  struct Args {
    std::string run, device, precision;
    int64_t beam = 0, shortlist = -1, chunk = 5000, batch_tokens = 4000;
    int threads = -1, workers = 0;
    bool json = false, alignments = false, stats = false;
  };
  auto args = std::make_shared<Args>();
  translate->add_option("--run", args->run, "Run directory")->required();
  add_precision_option(translate, args->precision);
  translate
      ->add_option("--shortlist", args->shortlist,
                   "Decode over a lexical shortlist of K candidates per source token (0 = none; "
                   "default: the run's eval.shortlist)")
      ->check(CLI::Range(0, 100000));
  translate->add_option("--beam", args->beam, "Beam size (default: the run's eval.beam)")
      ->check(CLI::Range(1, 256));
  translate->add_option("--device", args->device, "Override the run's device");
  translate
      ->add_option("--threads", args->threads,
                   "Intra-op CPU threads in all (0 = all cores; default: the run's run.threads)")
      ->check(CLI::Range(0, 1024));
  translate
      ->add_option("--workers", args->workers,
                   "Batches decoded side by side, each on threads/workers cores; 0 (default): "
                   "measured on the first chunk, one worker on all threads against one per "
                   "thread")
      ->check(CLI::Range(0, 256));
  translate
      ->add_option("--chunk", args->chunk,
                   "Lines read ahead, sorted into length buckets and written back in order "
                   "(bounds memory; default 5000)")
      ->check(CLI::Range(1, 10000000));
  translate
      ->add_option("--batch-tokens", args->batch_tokens,
                   "Padded source tokens per batch, divided by the beam (default 4000)")
      ->check(CLI::Range(1, 10000000));
  translate->add_flag("--json", args->json,
                      "JSON lines: line, source, translation, score (sum of log-probabilities), "
                      "tokens");
  translate->add_flag("--alignments", args->alignments,
                      "JSON lines with source/target pieces and a hard alignment \"s-t ...\" "
                      "from the last cross-attention (attention models)");
  translate->add_flag("--stats", args->stats,
                      "At the end, one JSON line on stderr: lines, tokens, seconds, tokens/s, "
                      "threads, workers, precision, shortlist and peak resident memory (MB)");
  translate->callback([&action, args] {
    action = [args] {
      // One model per worker with a shortlist (it restricts the output layer); else one shared.
      auto load = [&] {
        LoadedRun run = load_run(args->run, args->device);
        if (!args->precision.empty()) use_precision(run, args->precision);
        if (!run.labels.empty())
          throw InputError(
              fmt::format("{} is a classification run (use seqlab classify)", args->run));
        use_shortlist(run, args->shortlist);
        return run;
      };
      // A deque: loading the workers' models must not move the first run (`run` refers to it).
      std::deque<LoadedRun> runs;
      runs.push_back(load());
      LoadedRun& run = runs.front();
      if (make_task(run.config)->reads_images())
        throw InputError(fmt::format("{} is a captioning run (use seqlab caption)", args->run));
      const int threads = configure_threads(
          args->threads >= 0 ? args->threads : static_cast<int>(run.config.get_int("run.threads")));
      const int most_workers =
          args->workers > 0 ? args->workers : std::min(std::max(threads, 1), kMaxAutoWorkers);
      if (run.shortlist)
        while (runs.size() < size_t(most_workers)) runs.push_back(load());
      std::vector<Seq2Seq> models;
      for (auto& r : runs) models.push_back(r.model);
      StreamTranslateOptions options;
      options.search = search_options(run.config);
      if (args->beam > 0) options.search.beam = args->beam;
      options.search.shortlist = run.shortlist;
      options.batch_tokens = args->batch_tokens;
      options.chunk_sentences = args->chunk;
      options.workers = args->workers;
      options.intra_threads = threads;
      options.json = args->json || args->alignments;
      options.alignments = args->alignments;
      options.progress = isatty(2) != 0;
      auto stats =
          translate_stream(models, *run.tokenizer, run.device, std::cin, std::cout, options);
      const double rate = double(stats.output_tokens) / std::max(stats.seconds, 1e-9);
      if (options.progress)
        std::cerr << fmt::format("{} lines, {} tokens in {:.1f} s ({:.0f} tokens/s)\n", stats.lines,
                                 stats.output_tokens, stats.seconds, rate);
      if (args->stats) {
        struct rusage usage {};
        getrusage(RUSAGE_SELF, &usage);
        Json line = {{"lines", stats.lines},
                     {"sentences", stats.sentences},
                     {"output_tokens", stats.output_tokens},
                     {"seconds", stats.seconds},
                     {"tokens_per_s", rate},
                     {"threads", threads},
                     {"workers", stats.workers},
                     {"workers_measured_speedup", stats.measured_speedup},
                     {"beam", options.search.beam},
                     {"precision", run.int8 ? "int8" : "fp32"},
                     {"shortlist", run.shortlist ? run.shortlist->per_source() : 0},
                     {"peak_rss_mb", double(usage.ru_maxrss) / 1024.0}};
        std::cerr << line.dump() << std::endl;
      }
      return 0;
    };
  });
}

void add_caption_command(CLI::App& app, Action& action) {
  auto* caption = app.add_subcommand("caption", "Caption images: one line IMAGE<TAB>caption each");
  struct Args {
    std::string run, device, precision;
    std::vector<std::string> images;
    int64_t beam = 0;
  };
  auto args = std::make_shared<Args>();
  caption->add_option("--run", args->run, "Run directory (a captioning run)")->required();
  caption->add_option("--beam", args->beam, "Beam size (default: the run's eval.beam; 1 = greedy)")
      ->check(CLI::Range(1, 256));
  caption->add_option("--device", args->device, "Override the run's device");
  add_precision_option(caption, args->precision);
  caption->add_option("images", args->images, "PNG or JPEG files")->required();
  caption->callback([&action, args] {
    action = [args] {
      LoadedRun run = load_run(args->run, args->device);
      if (!args->precision.empty()) use_precision(run, args->precision);
      configure_threads(static_cast<int>(run.config.get_int("run.threads")));
      if (!make_task(run.config)->reads_images())
        throw InputError(fmt::format("{} is a {} run, not a captioning run (use seqlab translate)",
                                     args->run, run.config.get_string("data.task")));
      ImageOptions image_options = ImageOptions::from_config(run.config);
      image_options.skip_bad = false;  // a file named on the command line is never skipped silently
      ImageSet images = load_images(args->images, image_options);
      SearchOptions options = search_options(run.config);
      if (args->beam > 0) options.beam = args->beam;
      auto captions = caption_images(run.model, *run.tokenizer, run.device, images.pixels, options);
      for (size_t i = 0; i < captions.size(); ++i)
        std::cout << args->images[i] << "\t" << captions[i] << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps

namespace seqlab::apps {

void add_classify_command(CLI::App& app, Action& action) {
  auto* classify = app.add_subcommand(
      "classify",
      "Label stdin, one line each: LABEL<TAB>probability (an empty line gives an empty line)");
  struct Args {
    std::string run, device, precision;
  };
  auto args = std::make_shared<Args>();
  add_precision_option(classify, args->precision);
  classify->add_option("--run", args->run, "Run directory (a classification run)")->required();
  classify->add_option("--device", args->device, "Override the run's device");
  classify->callback([&action, args] {
    action = [args] {
      LoadedRun run = load_run(args->run, args->device);
      if (!args->precision.empty()) use_precision(run, args->precision);
      configure_threads(static_cast<int>(run.config.get_int("run.threads")));
      if (run.labels.empty())
        throw InputError(
            fmt::format("{} is a {} run, not a classification run (it has no labels.json)",
                        args->run, run.config.get_string("data.task")));
      auto sentences = read_stdin_lines();
      auto predictions = classify_sentences(run.model, *run.tokenizer, run.device,
                                            static_cast<int64_t>(run.labels.size()), sentences);
      for (const auto& p : predictions)
        std::cout << (p.label < 0
                          ? std::string()
                          : fmt::format("{}\t{:.4f}", run.labels[size_t(p.label)], p.probability))
                  << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps
