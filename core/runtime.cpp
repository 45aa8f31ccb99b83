#include "core/runtime.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/gemm.h"
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

double gemm_gflops(int64_t n, int repeats) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  double best = 0;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) / seconds / 1e9);
  }
  return best;
}

namespace {

// The first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    if (name == key) return colon + 2 <= line.size() ? line.substr(colon + 2) : "";
  }
  return "";
}

// A string returned by a C function of the loaded BLAS, when it has one (OpenBLAS does).
std::string blas_string(const char* symbol) {
  using Getter = char* (*)();
  auto getter = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, symbol));
  if (!getter) return "";
  const char* text = getter();
  std::string out = text ? text : "";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

nlohmann::json describe_machine() {
  // The SIMD extensions that decide which kernels run (ATen: AVX2 / AVX-512; OpenBLAS: its core).
  static const std::set<std::string> simd = {"sse4_2",      "avx",         "avx2",     "fma",
                                             "f16c",        "avx512f",     "avx512bw", "avx512vl",
                                             "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"};
  std::set<std::string> has;
  nlohmann::json flags = nlohmann::json::array();
  std::istringstream words(cpuinfo_field("flags"));
  for (std::string flag; words >> flag;) {
    has.insert(flag);
    if (simd.count(flag)) flags.push_back(flag);
  }
  // ATen's kernel level, chosen as ATen 1.13 does (its getter is not exported): AVX-512 when the
  // CPU has avx512 f/vl/bw/dq and FMA, else AVX2 with FMA, else the default kernels; the
  // ATEN_CPU_CAPABILITY variable can only lower it.
  int level = has.count("avx512f") && has.count("avx512vl") && has.count("avx512bw") &&
                      has.count("avx512dq") && has.count("fma")
                  ? 2
              : has.count("avx2") && has.count("fma") ? 1
                                                      : 0;
  const char* capabilities[] = {"default", "avx2", "avx512"};
  if (const char* requested = std::getenv("ATEN_CPU_CAPABILITY"))
    for (int i = 0; i < 3; ++i)
      if (std::string(requested) == capabilities[i]) level = std::min(level, i);
  nlohmann::json environment = nlohmann::json::object();
  for (const char* name :
       {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
        "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "SEQLAB_GEMM"})
    if (const char* value = std::getenv(name)) environment[name] = value;
  std::string family = cpuinfo_field("cpu family"), model = cpuinfo_field("model");
  return {{"cpu", cpuinfo_field("model name")},
          {"cpu_family_model", family.empty() ? "" : family + "/" + model},
          {"simd", flags},
          {"cores", std::thread::hardware_concurrency()},
          {"threads", at::get_num_threads()},
          {"blas", check_blas().library},
          {"blas_core", blas_string("openblas_get_corename")},
          {"blas_config", blas_string("openblas_get_config")},
          {"aten_capability", capabilities[level]},
          {"gemm_backend", describe_gemm_backend()},
          {"environment", environment}};
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

struct ScopedTorchSeed::Saved {
  at::Tensor state;
};

ScopedTorchSeed::ScopedTorchSeed(uint64_t seed) : saved_(std::make_unique<Saved>()) {
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved_->state = generator.get_state();
  }
  torch::manual_seed(seed);
}

ScopedTorchSeed::~ScopedTorchSeed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(saved_->state);
}

}  // namespace seqlab
