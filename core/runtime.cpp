#include "core/runtime.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "core/random.h"

namespace seqlab {

int configure_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

BlasReport check_blas() {
  BlasReport report;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos) {
      report.library = path;
      if (path.find("openblas") != std::string::npos) break;  // prefer naming the real one
    }
  }
  torch::NoGradGuard no_grad;
  const int64_t n = 384;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  const int repeats = 3;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) c = torch::mm(a, b);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.gflops = 2.0 * n * n * n * repeats / seconds / 1e9;
  report.slow = report.gflops < 20.0;
  return report;
}

void warn_if_slow_blas() {
  static bool checked = false;
  if (checked) return;
  checked = true;
  BlasReport report = check_blas();
  if (report.slow)
    log_warning(fmt::format(
        "slow BLAS: fp32 GEMM runs at {:.1f} GFLOP/s with {} ({} threads). Install an optimised "
        "BLAS: `apt-get install libopenblas0-openmp` (scripts/setup.sh does this).",
        report.gflops, report.library.empty() ? "an unknown BLAS" : report.library,
        at::get_num_threads()));
}

}  // namespace seqlab

namespace seqlab {

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace seqlab
