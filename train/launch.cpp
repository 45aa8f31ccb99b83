#include "train/launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace seqlab {
namespace {

// The workers, for the signal handler (kill is async-signal-safe).
constexpr int kMaxWorkers = 1024;
volatile sig_atomic_t g_worker_count = 0;
pid_t g_workers[kMaxWorkers];

void forward_signal(int signal) {
  for (int i = 0; i < g_worker_count; ++i)
    if (g_workers[i] > 0) kill(g_workers[i], signal);
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return fmt::format("was killed by signal {} ({})", signal, strsignal(signal));
  }
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(fmt::format("cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw Error(fmt::format("cannot find a free port: {}", std::strerror(errno)));
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string self_executable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot find this program's path (/proc/self/exe)");
  return path.string();
}

std::vector<std::string> worker_command_line(const std::vector<std::string>& line,
                                             const std::vector<std::string>& drop,
                                             const std::vector<std::string>& drop_flags) {
  auto among = [](const std::vector<std::string>& names, const std::string& word) {
    return std::find(names.begin(), names.end(), word) != names.end();
  };
  std::vector<std::string> worker{self_executable()};
  for (size_t i = 1; i < line.size(); ++i) {
    const std::string& word = line[i];
    if (among(drop, word)) {
      ++i;  // and its value
      continue;
    }
    const auto equals = word.find('=');
    if (among(drop_flags, word) ||
        (equals != std::string::npos && among(drop, word.substr(0, equals))))
      continue;
    worker.push_back(word);
  }
  return worker;
}

int launch_workers(const LaunchOptions& options) {
  if (options.nproc < 1 || options.nproc > kMaxWorkers)
    throw InputError(fmt::format("--nproc {}: expected 1..{}", options.nproc, kMaxWorkers));
  if (options.argv.empty()) throw Error("launch_workers: no command");
  const int port = options.master_port > 0 ? options.master_port : free_port();
  // The job's store admits only ranks that know this token (train/rendezvous_store.h).
  std::string token = options.store_token;
  if (const char* given = std::getenv("SEQLAB_STORE_TOKEN"); token.empty() && given) token = given;
  if (token.empty()) {
    std::random_device device;
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) token += hex[device() % 16];
  }
  std::vector<char*> args;
  for (const auto& a : options.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  if (!options.stdout_path.empty()) {  // truncated once; each worker appends
    std::FILE* file = std::fopen(options.stdout_path.c_str(), "w");
    if (!file)
      throw Error(fmt::format("cannot write {}: {}", options.stdout_path, std::strerror(errno)));
    std::fclose(file);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t launcher = getpid();
  std::vector<pid_t> workers;
  for (int rank = 0; rank < options.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      forward_signal(SIGKILL);
      throw Error(fmt::format("cannot start worker {}: fork: {}", rank, std::strerror(errno)));
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != launcher) _exit(1);  // the launcher died before prctl
      if (!options.stdout_path.empty() && !std::freopen(options.stdout_path.c_str(), "a", stdout))
        _exit(127);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("SEQLAB_STORE_TOKEN", token.c_str(), 1);
      setenv("SEQLAB_COLLECTIVE_TIMEOUT", fmt::format("{}", options.timeout_seconds).c_str(), 1);
      execvp(args[0], args.data());
      std::fprintf(stderr, "seqlab: cannot start %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    workers.push_back(pid);
    g_workers[rank] = pid;
    g_worker_count = rank + 1;
  }
  std::fprintf(stderr, "seqlab: %d workers (ranks 0..%d, pids %s), rendezvous at %s:%d\n",
               options.nproc, options.nproc - 1, fmt::format("{}", fmt::join(workers, " ")).c_str(),
               options.master_addr.c_str(), port);

  int running = options.nproc;
  // A worker that ended: no longer signalled; its rank, or -1 for another child of this process.
  auto reap = [&](pid_t pid) {
    for (int r = 0; r < options.nproc; ++r)
      if (g_workers[r] == pid) {
        g_workers[r] = -1;
        --running;
        return r;
      }
    return -1;
  };
  int result = 0;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const int rank = reap(pid);
    if (rank < 0) continue;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok || result != 0) continue;
    // The first failure ends the job.
    result = WIFEXITED(status) && WEXITSTATUS(status) == 2 ? 2 : 1;
    std::fprintf(stderr, "seqlab: rank %d (pid %d) %s; stopping the other %d worker(s)\n", rank,
                 pid, describe(status).c_str(), running);
    forward_signal(SIGTERM);
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(options.grace_seconds * 1000));
    while (running > 0 && std::chrono::steady_clock::now() < deadline) {
      const pid_t done = waitpid(-1, &status, WNOHANG);
      if (done > 0)
        reap(done);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (running > 0) forward_signal(SIGKILL);
  }
  g_worker_count = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace seqlab
