// `seqlab average RUN [--last N] [--out DIR]`: the average of a run's last N kept checkpoints
// (train.keep_last) as a run directory of its own, evaluated like any run.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "train/average.h"

namespace seqlab::apps {

void add_average_command(CLI::App& app, Action& action) {
  auto* average = app.add_subcommand("average",
                                     "Average the weights of a run's last N kept checkpoints "
                                     "(train.keep_last) into a run of its own");
  struct Options {
    std::string run, out;
    int64_t last = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  average->add_option("run", o->run, "The run directory")->required();
  average->add_option("--last", o->last,
                      "How many of the newest kept checkpoints (default: all kept)");
  average->add_option("--out", o->out,
                      "The averaged run's directory (default: RUN/average-last<N>)");
  average->add_flag("--json", o->json, "Print one JSON object");
  average->callback([&action, o] {
    action = [o] {
      Json record = average_run(o->run, o->last, o->out);
      if (o->json) {
        print_json(record.dump());
      } else {
        std::cout << fmt::format(
            "averaged {} checkpoints (steps {}) into {}\nevaluate it: seqlab eval --run {}\n",
            record["steps"].size(), fmt::join(record["steps"].get<std::vector<int64_t>>(), ", "),
            record["run"].get<std::string>(), record["run"].get<std::string>());
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
