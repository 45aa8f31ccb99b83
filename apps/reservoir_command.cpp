// seqlab reservoir mackey-glass: Jaeger and Haas 2004's benchmark, an echo-state network next to
// an extreme learning machine and a GRU trained by SGD on the same series (bench/forecast.h).
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "bench/forecast.h"
#include "core/progress.h"
#include "core/runtime.h"

namespace seqlab::apps {

void add_reservoir_command(CLI::App& app, Action& action) {
  auto* reservoir = app.add_subcommand("reservoir", "Reservoir computing on time series");
  reservoir->require_subcommand(1);
  auto* mg = reservoir->add_subcommand(
      "mackey-glass",
      "NRMSE of free-running Mackey-Glass prediction (Jaeger and Haas 2004): "
      "ESN, ELM and GRU side by side");
  struct Args {
    ForecastOptions options;
    bool json = false;
    int64_t threads = 0;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  mg->add_option("--units", o.units, "reservoir units (default 1000)")
      ->check(CLI::Range(1, 100000));
  mg->add_option("--horizon", o.horizon,
                 "free-running steps; the error is taken at the last (default 84)")
      ->check(CLI::Range(1, 100000));
  mg->add_option("--trials", o.trials,
                 "ESN and ELM trials, each a new series and reservoir (default 100)")
      ->check(CLI::Range(0, 100000));
  mg->add_option("--gru-trials", o.gru_trials, "GRU trials (default 5: each trains for a while)")
      ->check(CLI::Range(0, 100000));
  mg->add_option("--gru-updates", o.gru_updates, "GRU Adam updates per trial (default 1500)")
      ->check(CLI::Range(1, 10000000));
  mg->add_option("--models", o.models, "which of esn, elm, gru (default all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"esn", "elm", "gru"}));
  mg->add_option("--train-steps", o.train_steps, "teacher-forced steps (default 3000)")
      ->check(CLI::Range(2, 10000000));
  mg->add_option("--washout", o.washout, "of which the first N are not fitted (default 1000)")
      ->check(CLI::Range(0, 10000000));
  mg->add_option("--spectral-radius", o.spectral_radius, "(default 0.8)")
      ->check(CLI::Range(1e-6, 100.0));
  mg->add_option("--connectivity", o.connectivity,
                 "share of nonzero recurrent weights (default 0.01)")
      ->check(CLI::Range(1e-6, 1.0));
  mg->add_option("--feedback-scaling", o.feedback_scaling,
                 "output feedback weights uniform in [-s, s] (default 1)")
      ->check(CLI::Range(0.0, 1e6));
  mg->add_option("--input-scaling", o.input_scaling,
                 "bias input weights uniform in [-s, s] (default 1)")
      ->check(CLI::Range(0.0, 1e6));
  mg->add_option("--noise", o.noise, "state noise while teacher forcing (default 1e-10)")
      ->check(CLI::Range(0.0, 1.0));
  mg->add_option("--ridge", o.ridge,
                 "readout ridge penalty per row (default 0: chosen per trial by free runs over the "
                 "last 500 teacher-forced steps)")
      ->check(CLI::Range(0.0, 1e6));
  mg->add_option("--seed", o.seed, "first trial's seed (default 1)");
  mg->add_option("--plot", o.plot, "write trial 0's free runs against the truth as a PNG");
  mg->add_option("--threads", args->threads, "CPU threads (default: all cores)");
  mg->add_flag("--json", args->json, "Print one JSON object");
  mg->callback([&action, args] {
    action = [args] {
      configure_threads(static_cast<int>(args->threads));
      const auto& o = args->options;
      std::unique_ptr<Progress> progress;
      std::string current;
      auto rows = run_mackey_glass(o, [&](const std::string& model, int64_t trial) {
        if (model != current) {
          if (progress) progress->finish();
          current = model;
          progress =
              std::make_unique<Progress>(model, model == "gru" ? o.gru_trials : o.trials, "trials");
        }
        progress->advance();
      });
      if (progress) progress->finish();
      Json result = forecast_json(o, rows);
      if (args->json) {
        print_json(result.dump());
        return 0;
      }
      std::cout << fmt::format(
          "Mackey-Glass tau 17, {} teacher-forced steps ({} washout), NRMSE "
          "after {} free-running steps\n",
          o.train_steps, o.washout, o.horizon);
      std::cout << fmt::format("{:<6} {:>7} {:>11} {:>12} {:>13} {:>12} {:>9} {:>8}\n", "model",
                               "trials", "NRMSE", "log10 NRMSE", "median trial", "worst trial",
                               "diverged", "s/trial");
      for (const auto& m : result["models"])
        std::cout << fmt::format(
            "{:<6} {:>7} {:>11.3e} {:>12.2f} {:>13.3e} {:>12.3e} {:>9} {:>8.2f}\n",
            m["model"].get<std::string>(), m["trials"].get<int64_t>(), m["nrmse"].get<double>(),
            m["log10_nrmse"].get<double>(), m["median_trial_nrmse"].get<double>(),
            m["worst_trial_nrmse"].get<double>(), m["diverged"].get<int64_t>(),
            m["seconds_per_trial"].get<double>());
      if (!o.plot.empty()) std::cout << "plot: " << o.plot << "\n";
      return 0;
    };
  });
}

}  // namespace seqlab::apps
