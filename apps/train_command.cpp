#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "train/trainer.h"

namespace seqlab::apps {

void add_train_command(CLI::App& app, Action& action) {
  auto* train = app.add_subcommand("train", "Train a model described by a JSON config");
  struct Args {
    std::string config, out;
    std::vector<std::string> sets;
    bool resume = false, json = false;
  };
  auto args = std::make_shared<Args>();
  train->add_option("--config", args->config, "Run config (JSON; may include presets)")->required();
  train->add_option("--set", args->sets, "Override a config key: key=value (repeatable)");
  train->add_option("--out", args->out, "Run directory to write")->required();
  train->add_flag("--resume", args->resume, "Continue from RUN_DIR/checkpoint.pt");
  train->add_flag("--json", args->json, "Print one JSON object with the result");
  train->callback([&action, args] {
    action = [args] {
      Config config = Config::from_file(args->config, args->sets);
      // Resuming a directory that holds no run would silently start a new one (a mistyped --out
      // would then train from scratch where a resume was meant).
      if (args->resume && !std::filesystem::exists(args->out + "/checkpoint.pt"))
        throw InputError(fmt::format(
            "--resume: {} holds no run to resume (no checkpoint.pt: not a run directory, or the run "
            "stopped before its first checkpoint); run without --resume to start a new run there",
            args->out));
      TrainResult result = train_model(config, args->out, args->resume);
      if (args->json) {
        print_json(result.to_json().dump());
      } else {
        std::cout << fmt::format(
            "trained {} steps ({} epochs) in {:.0f} s; best valid loss {:.4f}, {}{}\n", result.steps, result.epochs,
            result.seconds, result.best_valid_loss,
            result.best_valid_accuracy >= 0 ? fmt::format("accuracy {:.2f}%", result.best_valid_accuracy)
                                            : fmt::format("BLEU {:.2f}", result.best_valid_bleu),
            result.early_stopped ? " (early stop)" : "");
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
