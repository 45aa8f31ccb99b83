// `seqlab compare`: paired significance tests between systems on one test set.
//   seqlab compare --ref REF [--ref REF2] --hyp BASELINE --hyp SYSTEM [--hyp ...] [--metric
//   bleu,chrf]
//                  [--paired bs|ar] [--samples N] [--seed S]
//   seqlab compare RUN_A RUN_B [--split test] [--beam N] [--metric ...] [--paired bs|ar]
// The first system is the baseline; every other is tested against it. Runs are compared from the
// item statistics their evaluation kept (RUN/<split>.beam<N>.items.json), without decoding.
#include <filesystem>
#include <iostream>
#include <regex>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "apps/text_input.h"
#include "core/error.h"
#include "eval/metric.h"
#include "eval/significance.h"

namespace seqlab::apps {
namespace {

namespace fs = std::filesystem;

struct System {
  std::string name;
  ItemStatisticsFile items;
};

// The items file of a run's evaluation of `split`: the one at `beam`, or the only one there is.
std::string run_items_path(const std::string& run, const std::string& split, int64_t beam) {
  if (!fs::is_directory(run)) throw InputError(fmt::format("{} is not a run directory", run));
  if (beam > 0) {
    std::string path = item_statistics_path(run, split, beam);
    if (!fs::exists(path))
      throw InputError(fmt::format(
          "{} has no item statistics for {} at beam {} ({} missing): run `seqlab eval {} "
          "--split {} --beam {}` first",
          run, split, beam, path, run, split, beam));
    return path;
  }
  const std::regex pattern(split + R"(\.beam([0-9]+)\.items\.json)");
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(run))
    if (std::regex_match(entry.path().filename().string(), pattern))
      found.push_back(entry.path().string());
  std::sort(found.begin(), found.end());
  if (found.empty())
    throw InputError(fmt::format(
        "{} has no item statistics for the {} split: evaluate it first (`seqlab eval {} "
        "--split {}`); runs evaluated before item statistics were kept need it too",
        run, split, run, split));
  if (found.size() > 1)
    throw InputError(
        fmt::format("{} has item statistics at several beams ({}): choose one with --beam", run,
                    join_names(found)));
  return found.front();
}

}  // namespace

void add_compare_command(CLI::App& app, Action& action) {
  auto* compare = app.add_subcommand("compare",
                                     "Paired significance tests between systems on one test set: "
                                     "paired bootstrap resampling (Koehn 2004) "
                                     "or approximate randomization (Riezler and Maxwell 2005), as "
                                     "sacreBLEU --paired-bs / --paired-ar");
  struct Options {
    std::vector<std::string> runs, refs, hyps;
    std::vector<std::string> metrics;
    std::string paired = "bs", split = "test";
    int64_t samples = 0, beam = 0;
    uint64_t seed = 12345;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  compare->add_option("runs", o->runs, "Two or more run directories (the first is the baseline)");
  compare->add_option("--ref", o->refs, "Reference file, one line per hypothesis (repeatable)");
  compare->add_option("--hyp", o->hyps, "Hypothesis file (repeatable; the first is the baseline)");
  compare
      ->add_option(
          "--metric", o->metrics,
          "Comma-separated metrics (default: bleu,chrf for files; every metric the runs kept)")
      ->delimiter(',');
  compare
      ->add_option("--paired", o->paired,
                   "bs: paired bootstrap (1,000 resamples); ar: approximate "
                   "randomization (10,000 trials)")
      ->check(CLI::IsMember({"bs", "ar"}));
  compare->add_option("--samples", o->samples,
                      "Resamples (bs) or trials (ar); default 1000 / 10000");
  compare->add_option("--seed", o->seed, "Random seed (sacreBLEU's default 12345)");
  compare->add_option("--split", o->split, "Runs: the evaluated split (default test)");
  compare->add_option("--beam", o->beam,
                      "Runs: the beam width evaluated (default: the only one kept)");
  compare->add_flag("--json", o->json, "Print one JSON object");
  compare->callback([&action, o] {
    action = [o] {
      std::vector<System> systems;
      std::vector<std::string> metrics = o->metrics;
      if (!o->runs.empty()) {
        if (!o->hyps.empty() || !o->refs.empty())
          throw InputError("compare either runs (RUN_A RUN_B) or files (--ref, --hyp), not both");
        if (o->runs.size() < 2) throw InputError("compare needs two runs or more");
        for (const auto& run : o->runs) {
          const std::string path = run_items_path(run, o->split, o->beam);
          systems.push_back({run, read_item_statistics(path)});
        }
        for (size_t i = 1; i < systems.size(); ++i)
          if (systems[i].items.references_sha256 != systems[0].items.references_sha256)
            throw InputError(fmt::format(
                "{} and {} were scored against different references on {}: a paired test "
                "needs one test set",
                systems[0].name, systems[i].name, o->split));
        if (metrics.empty())
          for (const auto& [name, rows] : systems[0].items.metrics) metrics.push_back(name);
        for (const auto& s : systems)
          for (const auto& m : metrics)
            if (!s.items.metrics.count(m))
              throw InputError(
                  fmt::format("{} kept no item statistics for metric '{}'", s.name, m));
      } else {
        if (o->refs.empty() || o->hyps.size() < 2)
          throw InputError(
              "compare needs --ref and two --hyp files or more (or two run directories)");
        if (metrics.empty()) metrics = {"bleu", "chrf"};
        for (const auto& m : metrics) metric_registry().create(m);  // unknown names listed early
        const auto references = read_reference_files(o->refs);
        for (const auto& hyp : o->hyps) {
          auto hypotheses = read_text_lines(hyp);
          check_reference_lines(o->refs, references, hyp, hypotheses.size());
          systems.push_back({hyp, compute_item_statistics(metrics, hypotheses, references)});
        }
      }
      PairedTestOptions options;
      options.method = o->paired;
      options.samples = o->samples;
      options.seed = o->seed;
      Json out = {
          {"test", o->paired == "bs" ? "paired bootstrap resampling" : "approximate randomization"},
          {"baseline", systems[0].name},
          {"seed", o->seed},
          {"items", systems[0].items.items},
          {"results", Json::array()}};
      std::string table;
      for (const auto& metric_name : metrics) {
        auto metric = metric_registry().create(metric_name);
        for (size_t i = 1; i < systems.size(); ++i) {
          PairedTestResult r = paired_test(*metric, systems[0].items.metrics.at(metric_name),
                                           systems[i].items.metrics.at(metric_name), options);
          Json row = r.to_json();
          row["metric"] = metric_name;
          row["system_name"] = systems[i].name;
          out["samples"] = r.samples;
          out["results"].push_back(row);
          if (i == 1)
            table += fmt::format("{:<8} {:<40} {:>8.2f}  ({:.2f} +- {:.2f})\n", metric_name,
                                 systems[0].name, r.baseline, r.baseline_mean, r.baseline_ci);
          table += fmt::format(
              "{:<8} {:<40} {:>8.2f}  ({:.2f} +- {:.2f})  {:+.2f} [{:+.2f}, {:+.2f}]  {}{}\n",
              metric_name, systems[i].name, r.system, r.system_mean, r.system_ci, r.difference,
              r.low, r.high, format_p_value(r.p_value), r.p_value < 0.05 ? " *" : "");
        }
      }
      if (o->json) {
        print_json(out.dump());
      } else {
        const int64_t samples = out.value("samples", int64_t{0});
        std::cout << fmt::format(
                         "{} ({} {}, seed {}), {} items; baseline: {}\n"
                         "score (mean +- half-width of the 95% resample interval)  difference to "
                         "the baseline "
                         "[95% interval]  p-value (* < 0.05)\n",
                         out["test"].get<std::string>(), samples,
                         o->paired == "bs" ? "resamples" : "trials", o->seed,
                         systems[0].items.items, systems[0].name)
                  << table;
      }
      return 0;
    };
  });
}

}  // namespace seqlab::apps
