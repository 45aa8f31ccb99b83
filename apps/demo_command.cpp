#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/files.h"
#include "runner/report.h"
#include "runner/runner.h"

namespace seqlab::apps {

void add_demo_command(CLI::App& app, Action& action) {
  auto* demo = app.add_subcommand("demo",
                                  "The README's main job: the families side by side on en-fr UI "
                                  "translation (GRU, GRU with attention, "
                                  "transformer, echo-state network; experiments/families.json, "
                                  "two to four seeds each, about 16 minutes on 2 cores), then the "
                                  "headline table and report.html");
  struct Args {
    std::string out = "runs/demo", size;
    int jobs = 2;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  demo->add_option("--out", args->out,
                   "Experiment directory (default runs/demo; completed if present)");
  demo->add_option(
      "--size", args->size,
      "quick (default, the demo) or full (each model trained until it stops improving)");
  demo->add_option("--jobs", args->jobs,
                   "Cells at a time (default 2: two seeds' runs side by side, the cores divided)")
      ->check(CLI::Range(1, 64));
  demo->add_flag("--json", args->json, "Print one JSON object");
  demo->callback([&action, args] {
    action = [args] {
      RunnerOptions options;
      options.spec_path = seqlab_home() + "/experiments/families.json";
      options.out_dir = args->out;
      options.size = args->size;
      options.jobs = args->jobs;
      options.resume = true;           // a demo run again completes or reuses what is there
      options.restart_changed = true;  // and redoes cells a newer spec changed
      RunnerSummary summary = run_experiment(options);
      ReportPaths report = write_report(args->out);
      Json table = cell_summary(args->out, "families");
      if (args->json) {
        print_json(Json{{"run", summary.to_json()},
                        {"families", table},
                        {"verdicts", report.verdicts},
                        {"report", report.html}}
                       .dump());
      } else {
        std::cout << "\nFamilies side by side, en-fr UI messages, test set (beam 5):\n"
                  << cell_summary_table(table);
        for (const auto& v : report.verdicts)
          std::cout << fmt::format("expected: {}  ->  {}\n", v["relation"].get<std::string>(),
                                   v["verdict"].get<std::string>());
        std::cout << fmt::format("report: {} (and {})\n", report.html, report.markdown);
      }
      return summary.failed > 0 ? 1 : 0;
    };
  });
}

}  // namespace seqlab::apps
