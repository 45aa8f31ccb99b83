// `seqlab run SPEC --out DIR`: every cell of an experiment spec, each in a child process (the
// trainer sets process-wide threads, seeds and generator state, so cells cannot share a
// process), `jobs` at a time with the threads divided among them.
//
// DIR/results.sqlite is the store (runner/store.h); DIR/specs/<name>.json the spec as resolved;
// DIR/runs/<spec>/<cell>/seed-<S>/ each run's directory (runner/cell.h). Only this process
// writes the store, and one runner at a time holds DIR (a lock file). Killing the runner at any
// moment loses nothing: its children die with it (PR_SET_PDEATHSIG), a run is marked finished
// only in the transaction that imports its results, and `--resume` skips finished cells and
// resumes the others from their checkpoints.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

struct RunnerOptions {
  std::string spec_path, out_dir;
  std::string size;  // empty: the spec's default size
  int jobs = 1;
  int threads = 0;  // all cores when 0; each job gets threads / jobs (at least 1)
  int nproc = 1;  // data-parallel processes per train cell (train --nproc); they share its threads
  bool resume = false;  // continue a grid already started in out_dir
  bool restart_changed =
      false;               // start afresh the cells a spec edit changed (and drop removed ones)
  std::string executable;  // the seqlab binary that runs cells
  bool progress = true;
};

struct RunnerSummary {
  std::string spec;
  int64_t cells = 0, finished = 0, skipped = 0, failed = 0;
  int64_t added_seeds = 0;  // adaptive seeds run by this invocation
  int64_t undecided =
      -1;  // adaptive seeds: relations still undecided at the end (-1: not adaptive)
  double seconds = 0;
  Json to_json() const;
};

RunnerSummary run_experiment(const RunnerOptions& options);

// The seqlab binary of this process (/proc/self/exe).
std::string current_executable();

}  // namespace seqlab
