// The launcher behind `seqlab train --nproc N` (what torchrun does for PyTorch): N worker
// processes of the same command on this machine, each told its place in the job through
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) and SEQLAB_COLLECTIVE_TIMEOUT. The launcher watches them: when one dies (a signal,
// a non-zero exit) it says which rank and how, stops the others (SIGTERM, then SIGKILL after a
// grace period) and fails; the job succeeds when every worker does. Workers die with the launcher
// (PR_SET_PDEATHSIG), and SIGINT / SIGTERM sent to the launcher reach every worker.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

struct LaunchOptions {
  int nproc = 1;
  std::vector<std::string> argv;  // the worker's command line; argv[0] a path or a name in PATH
  std::string master_addr = "127.0.0.1";
  int master_port = 0;           // 0: a free port on this machine
  std::string store_token;       // empty: $SEQLAB_STORE_TOKEN, else a random one
  double timeout_seconds = 600;  // every collective of the workers
  double grace_seconds = 10;     // between SIGTERM and SIGKILL when stopping the others
  std::string stdout_path;       // non-empty: the workers' standard output goes to this file
};

// Runs the job; returns its exit status: 0, 2 when a worker reported bad input (exit 2), else 1.
int launch_workers(const LaunchOptions& options);

// A TCP port free on this machine now (bound and released).
int free_port();

// A launcher's command line for its workers: this program's executable, then `line` without
// argv[0], without the options in `drop` (with their values; also as --name=value) and the
// flags in `drop_flags`.
std::vector<std::string> worker_command_line(const std::vector<std::string>& line,
                                             const std::vector<std::string>& drop,
                                             const std::vector<std::string>& drop_flags = {});

// This program's own executable (/proc/self/exe), for launching more of itself.
std::string self_executable();

}  // namespace seqlab
