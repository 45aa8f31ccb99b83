// A child process spoken to in lines: its stdin and stdout are pipes, its stderr is ours. For
// programs that serve requests one line at a time (the Python twins of `seqlab bench compare`);
// the experiment runner's cells will use it too.
#pragma once

#include <sys/types.h>

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

}  // namespace seqlab
