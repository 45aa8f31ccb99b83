#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "train/distributed.h"
#include "train/launch.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace seqlab::apps {

void add_train_command(CLI::App& app, Action& action) {
  auto* train = app.add_subcommand("train", "Train a model described by a JSON config");
  struct Args {
    std::string config, out;
    std::vector<std::string> sets;
    bool resume = false, json = false;
    int nproc = 0;
    int rank = -1, world_size = -1, master_port = -1;
    std::string master_addr;
    double timeout = 0;
  };
  auto args = std::make_shared<Args>();
  train->add_option("--config", args->config, "Run config (JSON; may include presets)")->required();
  train->add_option("--set", args->sets, "Override a config key: key=value (repeatable)");
  train->add_option("--out", args->out, "Run directory to write")->required();
  train->add_flag("--resume", args->resume, "Continue from RUN_DIR/checkpoint.safetensors");
  train->add_flag("--json", args->json, "Print one JSON object with the result");
  train
      ->add_option(
          "--nproc", args->nproc,
          "Data-parallel worker processes on this machine (like torchrun --nproc-per-node); "
          "run.threads is divided among them")
      ->check(CLI::Range(1, 1024));
  train
      ->add_option("--rank", args->rank,
                   "This process's rank in a multi-machine job (default: $RANK)")
      ->check(CLI::NonNegativeNumber);
  train
      ->add_option("--world-size", args->world_size,
                   "Processes in the job (default: $WORLD_SIZE, else 1)")
      ->check(CLI::Range(1, 1 << 20));
  train->add_option("--master-addr", args->master_addr,
                    "Rank 0's address (default: $MASTER_ADDR, else 127.0.0.1)");
  train
      ->add_option("--master-port", args->master_port,
                   "Rank 0's store port (default: $MASTER_PORT, else 29500)")
      ->check(CLI::Range(1, 65535));
  train
      ->add_option("--collective-timeout", args->timeout,
                   "Seconds any collective may wait for the other ranks before the job fails "
                   "(default: $SEQLAB_COLLECTIVE_TIMEOUT, else 600)")
      ->check(CLI::PositiveNumber);
  train->callback([&action, args] {
    action = [args] {
      Config config = Config::from_file(args->config, args->sets);
      // Resuming a directory that holds no run would silently start a new one (a mistyped --out
      // would then train from scratch where a resume was meant).
      if (args->resume && !std::filesystem::exists(args->out + "/" + kCheckpointFile) &&
          std::filesystem::exists(args->out + "/" + kLegacyCheckpointFile))
        throw InputError(
            fmt::format("--resume: {} holds a checkpoint in seqlab's format before safetensors "
                        "({}), a TorchScript archive "
                        "that can run code when loaded. If you trust where it came from, convert "
                        "it once with `seqlab convert "
                        "{} --trust-code`, then resume",
                        args->out, kLegacyCheckpointFile, args->out));
      if (args->resume && !std::filesystem::exists(args->out + "/" + kCheckpointFile))
        throw InputError(fmt::format(
            "--resume: {} holds no run to resume (no checkpoint.safetensors: not a run directory, "
            "or the run "
            "stopped before its first checkpoint); run without --resume to start a new run there",
            args->out));
      if (args->nproc > 1) {  // the launcher: N workers of this same command, without --nproc
        if (args->rank >= 0 || args->world_size > 0)
          throw InputError(
              "--nproc starts the workers of a job on this machine; --rank / --world-size "
              "start one worker of a job started by hand (use one or the other)");
        LaunchOptions launch;
        launch.nproc = args->nproc;
        launch.argv = worker_command_line(command_line(), {"--nproc"});
        if (!args->master_addr.empty()) launch.master_addr = args->master_addr;
        if (args->master_port > 0) launch.master_port = args->master_port;
        launch.timeout_seconds = args->timeout > 0
                                     ? args->timeout
                                     : DistributedOptions::from_environment().timeout_seconds;
        return launch_workers(launch);
      }
      DistributedOptions distributed = DistributedOptions::from_environment();
      if (args->world_size > 0) distributed.world_size = args->world_size;
      if (args->rank >= 0) distributed.rank = args->rank;
      if (!args->master_addr.empty()) distributed.master_addr = args->master_addr;
      if (args->master_port > 0) distributed.master_port = args->master_port;
      if (args->timeout > 0) distributed.timeout_seconds = args->timeout;
      if (args->world_size > 0 && std::getenv("LOCAL_WORLD_SIZE") == nullptr)
        distributed.local_world_size = 1;  // started by hand: assume one process per machine
      distributed.check();
      TrainResult result = train_model(config, args->out, args->resume, distributed);
      if (!distributed.is_main()) return 0;  // rank 0 reports
      if (args->json) {
        print_json(result.to_json().dump());
      } else {
        std::cout << fmt::format(
            "trained {} steps ({} epochs) in {:.0f} s; best valid loss {:.4f}, {}{}\n",
            result.steps, result.epochs, result.seconds, result.best_valid_loss,
            result.best_valid_accuracy >= 0
                ? fmt::format("accuracy {:.2f}%", result.best_valid_accuracy)
                : fmt::format("BLEU {:.2f}", result.best_valid_bleu),
            result.early_stopped ? " (early stop)" : "");
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
