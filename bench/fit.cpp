// seqlab bench fit: the ridge readout fit (train/ridge.h) on a stream of synthetic reservoir
// states, next to one plain fp32 and one fp64 X^T X over the same stream measured in the same
// run, so the fit reads as a ratio to the machine's own GEMM limit; and how fast a reservoir
// collects states, batched over many sequences.
#include <chrono>

#include <fmt/format.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "core/runtime.h"
#include "models/reservoir/reservoir.h"
#include "train/ridge.h"

namespace seqlab {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Json bench_fit(const FitBenchOptions& o) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  // One chunk of tanh states, streamed `rows` times over (the sums do not care that it repeats).
  const int64_t chunk = std::min<int64_t>(o.chunk, o.rows);
  auto states = torch::tanh(torch::randn({chunk, o.units}));
  auto states64 = states.to(torch::kFloat64);
  auto classes = torch::randint(0, o.outputs, {chunk}, torch::kLong);
  auto stream = [&](auto&& consume) {
    for (int64_t done = 0; done < o.rows; done += chunk) {
      int64_t n = std::min(chunk, o.rows - done);
      consume(n);
    }
  };

  auto start = std::chrono::steady_clock::now();
  auto gram32 = torch::zeros({o.units, o.units});
  stream([&](int64_t n) { gram32.addmm_(states.narrow(0, 0, n).t(), states.narrow(0, 0, n)); });
  double fp32 = seconds_since(start);

  start = std::chrono::steady_clock::now();
  auto gram64 = torch::zeros({o.units, o.units}, torch::kFloat64);
  stream([&](int64_t n) { gram64.addmm_(states64.narrow(0, 0, n).t(), states64.narrow(0, 0, n)); });
  double fp64 = seconds_since(start);

  start = std::chrono::steady_clock::now();
  RidgeAccumulator sums(o.units, o.outputs);
  stream([&](int64_t n) { sums.add_classes(states.narrow(0, 0, n), classes.narrow(0, 0, n)); });
  double accumulate = seconds_since(start);
  start = std::chrono::steady_clock::now();
  RidgeSolver solver(sums);
  auto solution = solver.solve(1e-6);
  double solve = seconds_since(start);
  double fit = accumulate + solve;

  // State collection: a reservoir of `units` over `sequences` sequences at once.
  ReservoirOptions options;
  options.units = o.units;
  options.connectivity = 0.1;
  Reservoir reservoir(options);
  auto drive = torch::randn({o.sequences, o.steps, o.units}) * 0.5;
  reservoir->run(drive.narrow(1, 0, std::min<int64_t>(o.steps, 5)));  // warm-up
  start = std::chrono::steady_clock::now();
  reservoir->run(drive);
  double collect = seconds_since(start);

  const double flops32 = 2.0 * double(o.rows) * double(o.units) * double(o.units);
  return {{"benchmark", "fit"},
          {"rows", o.rows},
          {"units", o.units},
          {"outputs", o.outputs},
          {"threads", at::get_num_threads()},
          {"gemm_fp32_seconds", fp32},
          {"gemm_fp32_gflops", flops32 / fp32 / 1e9},
          {"gemm_fp64_seconds", fp64},
          {"gemm_fp64_gflops", flops32 / fp64 / 1e9},
          {"fit_seconds", fit},
          {"fit_accumulate_seconds", accumulate},
          {"fit_solve_seconds", solve},
          {"fit_vs_fp32_gemm", fit / fp32},
          {"fit_vs_fp64_gemm", fit / fp64},
          {"check", solution.weight.abs().max().item<double>()},
          {"collect_sequences", o.sequences},
          {"collect_steps", o.steps},
          {"collect_seconds", collect},
          {"collect_steps_per_s", double(o.steps) / collect},
          {"collect_states_per_s", double(o.steps * o.sequences) / collect}};
}

std::string format_fit(const Json& r) {
  std::string out =
      fmt::format("Ridge readout fit: {} states of {} units, {} classes, {} threads\n",
                  r["rows"].get<int64_t>(), r["units"].get<int64_t>(), r["outputs"].get<int64_t>(),
                  r["threads"].get<int64_t>());
  out += fmt::format("  plain fp32 X^T X (GEMM)      {:8.2f} s  {:7.1f} GFLOP/s\n",
                     r["gemm_fp32_seconds"].get<double>(), r["gemm_fp32_gflops"].get<double>());
  out += fmt::format("  plain fp64 X^T X (GEMM)      {:8.2f} s  {:7.1f} GFLOP/s\n",
                     r["gemm_fp64_seconds"].get<double>(), r["gemm_fp64_gflops"].get<double>());
  out += fmt::format(
      "  ridge fit (fp64 sums, solve) {:8.2f} s  = {:.2f}x the fp32 GEMM, {:.2f}x the fp64 "
      "(accumulate {:.2f} s, solve {:.2f} s)\n",
      r["fit_seconds"].get<double>(), r["fit_vs_fp32_gemm"].get<double>(),
      r["fit_vs_fp64_gemm"].get<double>(), r["fit_accumulate_seconds"].get<double>(),
      r["fit_solve_seconds"].get<double>());
  out += fmt::format(
      "State collection: {} units, {} sequences x {} steps: {:.0f} steps/s ({:.3g} states/s)\n",
      r["units"].get<int64_t>(), r["collect_sequences"].get<int64_t>(),
      r["collect_steps"].get<int64_t>(), r["collect_steps_per_s"].get<double>(),
      r["collect_states_per_s"].get<double>());
  return out;
}

}  // namespace seqlab
