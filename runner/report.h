// `seqlab report DIR`: the results store turned into DIR/report.md and one self-contained
// DIR/report.html (figures embedded as data URIs), per spec:
//   - the expected outcome (words, source) and each checkable relation with its verdict:
//     reproduced / not reproduced / inconclusive at this size (the difference is within the
//     spread over seeds, or runs are missing);
//   - a table per cell: mean and standard deviation over seeds of the headline metric, with
//     parameters, training time, steps, decode speed and peak memory;
//   - figures drawn by gnuplot (pngcairo, DejaVu Sans): the headline metric per cell with error
//     bars, validation-loss curves, BLEU by source length, cost against length for benchmark
//     cells; and the attention map of the best run of each cell.
// Figures live in DIR/report/ (report.md links them).
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "eval/significance.h"
#include "runner/spec.h"
#include "runner/store.h"

namespace seqlab {

struct Stats {
  double mean = 0, sd = 0;
  int64_t n = 0;
};
Stats stats_of(const std::vector<double>& values);

// Whether a run's overrides select it for a relation's side (every key=value of the selector is
// among them; a "base" preset matches by its file name without extension too).
bool matches(const Json& overrides, const Json& selector);

enum class Outcome { kReproduced, kRefuted, kInconclusive };

struct Verdict {
  std::string relation, verdict,
      explanation;  // verdict: "reproduced", "not reproduced", "inconclusive ..."
  Outcome outcome = Outcome::kInconclusive;
  Stats left, right;
  double low = 0, high = 0;  // 95% interval of left - right
  GroupComparison comparison;
};

// Checks a relation against the finished runs of a spec: values of relation.metric on `split`
// (bucket relation.bucket) of the runs whose overrides match each side. The difference of the
// two sides' means gets an interval from both sources of noise (eval/significance.h): the spread
// over seeds (paired seed by seed over the seeds both sides ran) and, where every run kept
// item statistics inside `experiment_dir`, the test set's sampling error. With one seed on a side
// the seed spread is unknown and the verdict stays inconclusive. `>` / `<`: reproduced when the 95%
// interval lies above the margin, refuted when below it. `~=`: reproduced when the 90% interval
// lies inside +-tolerance (two one-sided tests at 5%), refuted when the 95% interval lies wholly
// outside it.
Verdict check_relation(const Relation& relation, const std::string& split, const ResultStore& store,
                       const std::string& spec, const std::string& experiment_dir = "");

struct ReportPaths {
  std::string markdown, html;
  int64_t figures = 0;
  std::vector<Json> verdicts;  // {"spec", "relation", "verdict", "explanation"}
};

ReportPaths write_report(const std::string& dir);

// Per cell of a spec, means over its finished runs: {"cell", "runs", "bleu", "chrf", "parameters",
// "train_seconds", "steps", "sentences_per_s"} on the spec's report split (the headline table of
// `seqlab demo`).
Json cell_summary(const std::string& dir, const std::string& spec);
std::string cell_summary_table(const Json& summary);

// `seqlab results DIR`: every run with its status and headline metric ({"runs": [...]}).
Json results_json(const std::string& dir);
std::string results_table(const Json& results);

}  // namespace seqlab
