#include <algorithm>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/config.h"
#include "core/files.h"
#include "data/recipe.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace seqlab::apps {

void add_demo_command(CLI::App& app, Action& action) {
  auto* demo = app.add_subcommand(
      "demo",
      "The README's main job: prepare the en-fr UI corpus, train the GRU baseline (600 updates, so that "
      "every machine trains as much; 15-30 minutes on 2 cores) and print its test BLEU");
  struct Args {
    std::string out = "runs/demo";
    std::vector<std::string> sets;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  demo->add_option("--out", args->out, "Run directory (default runs/demo; resumed if present)");
  demo->add_option("--set", args->sets, "Override a key of configs/demo.json: key=value");
  demo->add_flag("--json", args->json, "Print one JSON object");
  demo->callback([&action, args] {
    action = [args] {
      // Prepared once; later demos reuse the cached corpus (`seqlab data prepare ui-fr` rebuilds).
      std::string cached = data_cache_dir() + "/ui-fr";
      Json counts;
      if (std::filesystem::exists(cached + "/meta.json")) {
        counts = Json::parse(read_file(cached + "/meta.json"))["counts"];
      } else {
        PreparedCorpus corpus = prepare_corpus("ui-fr");
        counts = corpus.counts;
      }
      std::cerr << fmt::format("ui-fr: {} train, {} valid, {} test pairs in {}\n",
                               counts["train"].get<int64_t>(), counts["valid"].get<int64_t>(),
                               counts["test"].get<int64_t>(), cached);
      Config config = Config::from_file(seqlab_home() + "/configs/demo.json", args->sets);
      TrainResult result = train_model(config, args->out, /*resume=*/true);
      Json test = evaluate_run(args->out, EvaluateOptions{});
      if (args->json) {
        print_json(Json{{"train", result.to_json()}, {"test", test}}.dump());
      } else {
        std::cout << fmt::format(
            "GRU encoder-decoder (no attention), {} updates in {:.0f} min ({:.2f} updates/s on this machine)\n"
            "test ({} sentences, beam {}): {}\nchrF2 = {:.2f}\n",
            result.steps, result.seconds / 60, double(result.steps) / std::max(1.0, result.seconds),
            test["sentences"].get<size_t>(),
            test["beam"].get<int64_t>(), test["bleu_summary"].get<std::string>(),
            test["chrf"].get<double>());
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
