// A child process spoken to in lines: its stdin and stdout are pipes, its stderr is ours. For
// programs that serve requests one line at a time (the Python twins of `seqlab bench compare`);
// the experiment runner's cells will use it too.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <cstdio>
#include <string>
#include <vector>

namespace seqlab {

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH). Throws Error when it cannot be started.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // closes its stdin and waits; kills it if it does not exit within 10 s
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void write_line(const std::string& line);
  // The next line of its stdout, without the newline. Throws Error naming the program and its
  // exit status when it exits (or closes stdout) first.
  std::string read_line();
  // Closes its stdin and waits for it; returns the exit status (128 + signal when killed).
  int wait();

 private:
  std::string name_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  std::FILE* from_child_ = nullptr;
  int status_ = -1;
};

// A program running on its own with its output in files: the experiment runner's cells. It is
// killed when the process that started it dies (PR_SET_PDEATHSIG), so killing the runner never
// leaves orphans training on.
class BackgroundProcess {
 public:
  struct Exit {
    int status;           // exit code, or 128 + signal when killed
    int64_t max_rss_kib;  // the child's peak resident memory
  };
  // Starts argv[0] (looked up in PATH) with stdout written to `stdout_path` (truncated) and stderr
  // appended to `stderr_path`. Throws Error when it cannot be started.
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& stdout_path,
                    const std::string& stderr_path);
  ~BackgroundProcess();  // kills and reaps it if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // The exit once it has ended, without blocking; nothing while it runs.
  bool poll(Exit& exit);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Runs a program to completion with stdout and stderr into `output_path`; returns its exit status
// (127 when it cannot be started).
int run_program(const std::vector<std::string>& argv, const std::string& output_path);

}  // namespace seqlab
