#include "core/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

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
    if (n <= 0)
      throw Error(fmt::format("{} stopped reading its input (exit status {})", name_, wait()));
    written += static_cast<size_t>(n);
  }
}

std::string ChildProcess::read_line() {
  std::string line;
  for (int c; (c = std::fgetc(from_child_)) != EOF;) {
    if (c == '\n') return line;
    line.push_back(static_cast<char>(c));
  }
  throw Error(fmt::format("{} exited before answering (exit status {}; its messages are above)",
                          name_, wait()));
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

namespace {

int open_for_child(const std::string& path, bool append) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  return fd;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::string& stdout_path,
                                     const std::string& stderr_path) {
  if (argv.empty()) throw Error("BackgroundProcess: no program given");
  int out = open_for_child(stdout_path, false);
  int err = stdout_path == stderr_path ? out : open_for_child(stderr_path, true);
  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) != 0) throw Error(fmt::format("cannot start {}: pipe", argv[0]));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0)
    throw Error(fmt::format("cannot start {}: fork: {}", argv[0], std::strerror(errno)));
  if (pid_ == 0) {  // only async-signal-safe calls until exec
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(137);  // the parent died before prctl took effect
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execvp(args[0], args.data());
    int error = errno;
    if (write(exec_error[1], &error, sizeof error) < 0) _exit(127);
    _exit(127);
  }
  close(exec_error[1]);
  close(out);
  if (err != out) close(err);
  int error = 0;
  ssize_t got = read(exec_error[0], &error, sizeof error);
  close(exec_error[0]);
  if (got == static_cast<ssize_t>(sizeof error)) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw Error(fmt::format("cannot start {}: {}", argv[0], std::strerror(error)));
  }
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool BackgroundProcess::poll(Exit& exit) {
  if (pid_ <= 0) return false;
  int status = 0;
  struct rusage usage {};
  pid_t got = wait4(pid_, &status, WNOHANG, &usage);
  if (got != pid_) return false;
  pid_ = -1;
  exit.status = exit_code(status);
  exit.max_rss_kib = usage.ru_maxrss;
  return true;
}

int run_program(const std::vector<std::string>& argv, const std::string& output_path) {
  try {
    BackgroundProcess process(argv, output_path, output_path);
    BackgroundProcess::Exit exit{};
    while (!process.poll(exit)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return exit.status;
  } catch (const Error&) {
    return 127;
  }
}

}  // namespace seqlab
