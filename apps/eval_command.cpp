#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"
#include "core/files.h"
#include "core/runtime.h"
#include "core/utf8.h"
#include "data/recipe.h"
#include "eval/length_buckets.h"
#include "eval/metric.h"
#include "train/run_directory.h"

namespace seqlab::apps {

Json evaluate_run(const std::string& run_dir, const std::string& split, int64_t beam,
                  const std::string& device, int64_t attention_maps) {
  LoadedRun run = load_run(run_dir, device);
  configure_threads(static_cast<int>(run.config.get_int("run.threads")));
  auto pairs = load_corpus_split(run.config.get_string("data.corpus"), split);
  std::vector<std::string> sources, references;
  for (const auto& p : pairs) {
    sources.push_back(p.source);
    references.push_back(p.target);
  }
  SearchOptions options = search_options(run.config);
  if (beam > 0) options.beam = beam;
  auto hypotheses = translate_sentences(run, sources, options);
  std::string text;
  for (const auto& h : hypotheses) text += h + "\n";
  write_file_atomic(fmt::format("{}/{}.beam{}.hyp", run_dir, split, options.beam), text);
  auto bleu = MetricRegistry().create("bleu")->corpus_score(hypotheses, {references});
  auto chrf = MetricRegistry().create("chrf")->corpus_score(hypotheses, {references});
  Json result = {{"run", run_dir},     {"split", split},       {"beam", options.beam},
                 {"sentences", pairs.size()}, {"bleu", bleu.score}, {"chrf", chrf.score},
                 {"bleu_summary", bleu.summary},
                 {"bleu_by_source_length", to_json(bleu_by_source_length(sources, hypotheses, references))}};
  if (attention_maps > 0) {
    Json maps = Json::array();
    for (size_t i = 0; i < std::min<size_t>(static_cast<size_t>(attention_maps), sources.size()); ++i)
      maps.push_back(write_attention_map(
          run, sources[i], fmt::format("{}/attention/{}-{:03}.png", run_dir, split, i + 1))["png"]);
    result["attention_maps"] = maps;
  }
  return result;
}

void add_eval_command(CLI::App& app, Action& action) {
  auto* eval = app.add_subcommand("eval", "Translate a split of the run's corpus and score it");
  struct Args {
    std::string run, split = "test", device;
    int64_t beam = 0, attention_maps = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  eval->add_option("--run", args->run, "Run directory")->required();
  eval->add_option("--attention-maps", args->attention_maps,
                   "Also draw the attention maps of the first N sentences into RUN/attention/");
  eval->add_option("--split", args->split, "valid or test")->check(CLI::IsMember({"valid", "test"}));
  eval->add_option("--beam", args->beam, "Beam size (default: the run's eval.beam; 1 = greedy)")
      ->check(CLI::Range(1, 256));
  eval->add_option("--device", args->device, "Override the run's device");
  eval->add_flag("--json", args->json, "Print one JSON object");
  eval->callback([&action, args] {
    action = [args] {
      Json result =
          evaluate_run(args->run, args->split, args->beam, args->device, args->attention_maps);
      if (args->json) {
        print_json(result.dump());
      } else {
        std::cout << fmt::format("{} {} (beam {}, {} sentences)\n{}\nchrF2 = {:.2f}\n", args->run,
                                 args->split, result["beam"].get<int64_t>(),
                                 result["sentences"].get<size_t>(),
                                 result["bleu_summary"].get<std::string>(),
                                 result["chrf"].get<double>());
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
  auto* translate = app.add_subcommand("translate", "Translate stdin to stdout, one line each");
  struct Args {
    std::string run, device;
    int64_t beam = 0;
  };
  auto args = std::make_shared<Args>();
  translate->add_option("--run", args->run, "Run directory")->required();
  translate->add_option("--beam", args->beam, "Beam size (default: the run's eval.beam)")
      ->check(CLI::Range(1, 256));
  translate->add_option("--device", args->device, "Override the run's device");
  translate->callback([&action, args] {
    action = [args] {
      LoadedRun run = load_run(args->run, args->device);
      configure_threads(static_cast<int>(run.config.get_int("run.threads")));
      std::vector<std::string> sources;
      for (std::string line; std::getline(std::cin, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        require_utf8(line, fmt::format("stdin:{}", sources.size() + 1));
        sources.push_back(line);
      }
      SearchOptions options = search_options(run.config);
      if (args->beam > 0) options.beam = args->beam;
      for (const auto& line : translate_sentences(run, sources, options)) std::cout << line << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps
