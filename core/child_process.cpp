#include "core/child_process.h"

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw Error("ChildProcess: no program given");
  name_ = argv[0];
  int in_pipe[2], out_pipe[2], exec_error[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe2(exec_error, O_CLOEXEC) != 0)
    throw Error(fmt::format("cannot start {}: pipe: {}", name_, std::strerror(errno)));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw Error(fmt::format("cannot start {}: fork: {}", name_, std::strerror(errno)));
  if (pid_ == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    close(in_pipe[0]);
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(exec_error[0]);
    execvp(args[0], args.data());
    int error = errno;  // tell the parent why exec failed, through the close-on-exec pipe
    if (write(exec_error[1], &error, sizeof error) < 0) _exit(127);
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(exec_error[1]);
  int error = 0;
  ssize_t got = read(exec_error[0], &error, sizeof error);
  close(exec_error[0]);
  to_child_ = in_pipe[1];
  from_child_ = fdopen(out_pipe[0], "r");
  if (got == static_cast<ssize_t>(sizeof error)) {
    wait();
    throw Error(fmt::format("cannot start {}: {}", name_, std::strerror(error)));
  }
  // A child that dies must not kill us with SIGPIPE on the next write.
  std::signal(SIGPIPE, SIG_IGN);
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  if (to_child_ >= 0) close(to_child_);
  to_child_ = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (from_child_) std::fclose(from_child_);
}

void ChildProcess::write_line(const std::string& line) {
  std::string text = line + "\n";
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(to_child_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("{} stopped reading its input (exit status {})", name_, wait()));
    written += static_cast<size_t>(n);
  }
}

std::string ChildProcess::read_line() {
  std::string line;
  for (int c; (c = std::fgetc(from_child_)) != EOF;) {
    if (c == '\n') return line;
    line.push_back(static_cast<char>(c));
  }
  throw Error(fmt::format("{} exited before answering (exit status {}; its messages are above)", name_, wait()));
}

int ChildProcess::wait() {
  if (pid_ <= 0) return status_;
  if (to_child_ >= 0) close(to_child_);
  to_child_ = -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

}  // namespace seqlab
