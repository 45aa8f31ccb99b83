// seqlab run / results / report, and the hidden `seqlab cell` that runs one train cell in the
// runner's child process.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "runner/cell.h"
#include "runner/report.h"
#include "runner/runner.h"
#include "train/distributed.h"
#include "train/launch.h"

namespace seqlab::apps {

void add_run_command(CLI::App& app, Action& action) {
  auto* run =
      app.add_subcommand("run", "Run every cell of an experiment spec (grid x seeds) into DIR");
  auto options = std::make_shared<RunnerOptions>();
  auto json = std::make_shared<bool>(false);
  run->add_option("spec", options->spec_path,
                  "Experiment spec (JSON), e.g. experiments/attention-vs-length.json")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("--out", options->out_dir,
                  "Directory for the runs, results.sqlite and the report")
      ->required();
  run->add_option("--jobs", options->jobs,
                  "Cells at a time (threads are divided among them; default 1)")
      ->check(CLI::Range(1, 256));
  run->add_option("--threads", options->threads,
                  "CPU threads for all jobs together (default: all cores)")
      ->check(CLI::Range(0, 1024));
  run->add_option(
         "--nproc", options->nproc,
         "Data-parallel processes per train cell (they share the cell's threads; default 1)")
      ->check(CLI::Range(1, 256));
  run->add_option("--size", options->size,
                  "One of the spec's sizes (default: its \"size\", usually quick)");
  run->add_flag("--resume", options->resume,
                "Complete a grid started in DIR: finished cells are skipped, "
                "interrupted ones resume from their checkpoints");
  run->add_flag("--restart-changed", options->restart_changed,
                "With --resume: start afresh the cells an edit of the spec changed");
  run->add_flag("--json", *json, "Print one JSON object");
  run->callback([&action, options, json] {
    action = [options, json] {
      RunnerSummary summary = run_experiment(*options);
      if (*json) {
        print_json(summary.to_json().dump());
      } else {
        std::cout << fmt::format(
            "{}: {} cells, {} run now, {} already done, {} failed, {:.0f} s; "
            "`seqlab report {}` draws the report\n",
            summary.spec, summary.cells, summary.finished, summary.skipped, summary.failed,
            summary.seconds, options->out_dir);
      }
      return summary.failed > 0 ? 1 : 0;
    };
  });

  auto* results =
      app.add_subcommand("results", "List the runs in an experiment directory's results store");
  auto dir = std::make_shared<std::string>();
  auto results_json_flag = std::make_shared<bool>(false);
  results->add_option("dir", *dir, "Experiment directory (holds results.sqlite)")->required();
  results->add_flag("--json", *results_json_flag, "Print one JSON object");
  results->callback([&action, dir, results_json_flag] {
    action = [dir, results_json_flag] {
      Json r = results_json(*dir);
      if (*results_json_flag)
        print_json(r.dump());
      else
        std::cout << results_table(r);
      return 0;
    };
  });

  auto* report =
      app.add_subcommand("report", "Write DIR/report.md and a self-contained DIR/report.html");
  auto report_dir = std::make_shared<std::string>();
  auto report_json = std::make_shared<bool>(false);
  report->add_option("dir", *report_dir, "Experiment directory (holds results.sqlite)")->required();
  report->add_flag("--json", *report_json, "Print one JSON object");
  report->callback([&action, report_dir, report_json] {
    action = [report_dir, report_json] {
      ReportPaths paths = write_report(*report_dir);
      if (*report_json) {
        print_json(Json{{"markdown", paths.markdown},
                        {"html", paths.html},
                        {"figures", paths.figures},
                        {"verdicts", paths.verdicts}}
                       .dump());
      } else {
        for (const auto& v : paths.verdicts)
          std::cout << fmt::format("{}: {}: {}\n", v["spec"].get<std::string>(),
                                   v["relation"].get<std::string>(),
                                   v["verdict"].get<std::string>());
        std::cout << fmt::format("{} figures\n{}\n{}\n", paths.figures, paths.markdown, paths.html);
      }
      return 0;
    };
  });

  auto* cell =
      app.add_subcommand("cell", "(used by `seqlab run`) train and evaluate the cell in DIR");
  cell->group("");  // hidden from --help
  auto cell_dir = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(1);
  auto nproc = std::make_shared<int>(1);
  cell->add_option("--dir", *cell_dir, "Cell directory (holds cell.json)")->required();
  cell->add_option("--threads", *threads, "Intra-op threads")->check(CLI::Range(1, 1024));
  cell->add_option("--nproc", *nproc, "Data-parallel processes (sharing the threads)")
      ->check(CLI::Range(1, 1024));
  cell->callback([&action, cell_dir, threads, nproc] {
    action = [cell_dir, threads, nproc] {
      if (*nproc > 1) {  // the launcher: this command again, once per rank
        LaunchOptions launch;
        launch.nproc = *nproc;
        launch.argv = {self_executable(), "cell",      "--dir",
                       *cell_dir,         "--threads", std::to_string(*threads)};
        launch.timeout_seconds = DistributedOptions::from_environment().timeout_seconds;
        return launch_workers(launch);
      }
      run_train_cell(*cell_dir, *threads, DistributedOptions::from_environment());
      return 0;
    };
  });
}

}  // namespace seqlab::apps
