// One cell of an experiment, in the process that runs it, and what the runner imports from it.
//
// A cell directory holds cell.json (what to run: runner/spec.h's Cell), log.txt (the child's
// stderr), stdout.txt, and when done result.json (written atomically, last). A train cell's
// directory is also its run directory (config.json, checkpoints, metrics.jsonl, hypotheses,
// attention maps).
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "runner/store.h"
#include "train/distributed.h"

namespace seqlab {

// Trains (resuming from a checkpoint when there is one) and evaluates the train cell in `dir` with
// `threads` intra-op threads; writes dir/result.json and returns it:
//   {"train": TrainResult, "evaluations": [evaluate_run's object per split]}
// As one rank of a data-parallel cell (`distributed` active) it trains with the others on 1/N of
// the cell's batch budget each (the global batch stays the cell's), and only rank 0 evaluates and
// writes the result (the others return an empty object).
Json run_train_cell(const std::string& dir, int threads,
                    const DistributedOptions& distributed = {});

// The command line that runs a cell of any kind (runner/cell_kind.h) in a child process:
// `seqlab cell` for train cells, `seqlab bench ...` or `seqlab reservoir mackey-glass ...` (with
// --json) for the others. `nproc` > 1 trains a train cell with that many data-parallel processes
// sharing `threads`.
std::vector<std::string> cell_command(const std::string& executable, const Json& cell,
                                      const std::string& dir, int threads, int nproc = 1);

// After the cell's process exited with status 0: its kind leaves dir/result.json (a command that
// prints its result has it written there); returns why it could not, or "".
std::string collect_cell_result(const Json& cell, const std::string& dir);

// What the store keeps of a finished cell, as its kind imports it: for a train cell result.json's
// evaluations (bucketed scores included), the metrics log (train/valid events), parameters,
// training time and steps; `max_rss_kib` is the child's peak memory.
RunResult read_cell_result(const Json& cell, const std::string& dir, int64_t max_rss_kib);

}  // namespace seqlab
