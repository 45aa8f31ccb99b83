#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/config.h"
#include "train/convert.h"

namespace seqlab::apps {

void add_convert_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "convert",
      "Rewrite a run saved before safetensors (best.pt, checkpoint.pt) as best.safetensors and "
      "checkpoint.safetensors; needs --trust-code, since the old files are TorchScript archives "
      "that can run code");
  auto run = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("run", *run, "Run directory")->required();
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([&action, run, json] {
    action = [run, json] {
      auto written = convert_run(*run);
      if (*json) {
        print_json(Json{{"run", *run}, {"written", written}}.dump());
      } else {
        for (const auto& file : written) std::cout << "wrote " << file << "\n";
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
