// `seqlab bench train --nproc N`: data-parallel training throughput by process count (weak
// scaling: every process keeps the per-process batch), the all-reduce time the backward pass did
// not hide, one all-reduce of the gradient's size timed alone, and a model on paper of the step
// at larger process counts over a network of a stated bandwidth.
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>

#include <unistd.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/runtime.h"
#include "train/distributed.h"
#include "train/launch.h"
#include "train/training_data.h"

namespace seqlab {

Json bench_train_worker(const Config& config, int64_t batch_tokens, int64_t steps, int threads) {
  const DistributedOptions distributed = DistributedOptions::from_environment();
  set_console_rank(distributed.rank);
  configure_threads(threads);
  std::unique_ptr<Communicator> communicator;
  if (distributed.active()) communicator = std::make_unique<Communicator>(distributed, torch::kCPU);
  torch::manual_seed(0);
  Seq2Seq model(config, kBenchVocab, kBenchVocab);
  std::unique_ptr<GradientReducer> reducer;
  if (communicator)
    reducer = std::make_unique<GradientReducer>(
        *communicator, model->parameters(),
        static_cast<int64_t>(config.get_number("train.bucket_mb") * (1 << 20)));
  const int world = distributed.world_size;
  auto examples = synthetic_pairs(20000, kBenchVocab, 1);
  auto batches = TokenBucketBatcher(examples, batch_tokens * world, 0, 1).epoch(0);
  std::optional<DataParallelPart> part;
  if (communicator)
    part = DataParallelPart{communicator.get(), reducer.get(), distributed.rank, world};
  const auto [tokens_per_s, seconds_per_step] =
      time_training(model, examples, batches, steps, part ? &*part : nullptr);
  int64_t gradient_elements = 0;
  for (const auto& p : model->parameters()) gradient_elements += p.numel();
  Json result = {{"processes", world},
                 {"threads_per_process", at::get_num_threads()},
                 {"steps", steps},
                 {"ms_per_step", 1000.0 * seconds_per_step},
                 {"target_tokens_per_s", tokens_per_s},
                 {"gradient_elements", gradient_elements},
                 {"allreduce_wait_ms_per_step", 0.0},
                 {"allreduce_alone_ms", 0.0}};
  if (communicator) {
    result["allreduce_wait_ms_per_step"] = 1000.0 * reducer->wait_seconds() / double(steps);
    result["buckets"] = reducer->buckets();
    result["backend"] = communicator->backend();
    result["allreduce_alone_ms"] =
        1000.0 * time_all_reduce(*communicator, gradient_elements, 10, torch::kCPU);
  }
  return result;
}

namespace {

// Ring all-reduce (what Gloo and NCCL run for large tensors): each process sends and receives
// 2 (p - 1) / p of the gradient, in 2 (p - 1) latency-bound steps.
double ring_allreduce_seconds(int64_t processes, double bytes, double gbit_per_s,
                              double latency_us) {
  if (processes <= 1) return 0;
  const double p = double(processes);
  return 2 * (p - 1) / p * bytes * 8 / (gbit_per_s * 1e9) + 2 * (p - 1) * latency_us * 1e-6;
}

}  // namespace

Json bench_train_scaling(const std::vector<std::string>& worker_argv, int nproc, int threads,
                         double gbit_per_s, double latency_us) {
  std::vector<int> counts;
  for (int p = 1; p < nproc; p *= 2) counts.push_back(p);
  counts.push_back(nproc);
  Json rows = Json::array();
  const std::string output = fmt::format("/tmp/seqlab-bench-{}.jsonl", getpid());
  for (int p : counts) {
    log_info(fmt::format("bench train: {} process(es), {} thread(s) each", p, threads));
    LaunchOptions launch;
    launch.nproc = p;
    launch.argv = worker_argv;
    launch.stdout_path = output;
    const int status = launch_workers(launch);
    if (status != 0)
      throw Error(
          fmt::format("bench train: the run with {} process(es) failed (status {})", p, status));
    std::string last;
    for (const auto& line : read_lines(output))
      if (!line.empty()) last = line;
    Json row = Json::parse(last, nullptr, false);
    if (row.is_discarded()) throw Error("bench train: a worker printed no result");
    rows.push_back(row);
  }
  std::remove(output.c_str());
  const double base = rows[0]["target_tokens_per_s"].get<double>();
  for (auto& row : rows) {
    const double speedup = row["target_tokens_per_s"].get<double>() / base;
    row["speedup"] = speedup;
    row["efficiency"] = speedup / row["processes"].get<double>();
    const double step = row["ms_per_step"].get<double>();
    row["allreduce_share"] =
        step > 0 ? row["allreduce_wait_ms_per_step"].get<double>() / step : 0.0;
  }
  // On paper: the one-process step's compute, plus a ring all-reduce of the gradient that the
  // backward pass does not hide (the pessimistic case), at larger process counts.
  const double compute_ms = rows[0]["ms_per_step"].get<double>();
  const double bytes = 4.0 * rows[0]["gradient_elements"].get<double>();
  Json paper = Json::array();
  for (int64_t p : {2, 8, 64}) {
    const double allreduce_ms = 1000 * ring_allreduce_seconds(p, bytes, gbit_per_s, latency_us);
    const double step_ms = compute_ms + allreduce_ms;
    paper.push_back(
        {{"processes", p},
         {"compute_ms", compute_ms},
         {"allreduce_ms", allreduce_ms},
         {"step_ms", step_ms},
         {"allreduce_share", allreduce_ms / step_ms},
         {"speedup", double(p) * compute_ms / step_ms},
         {"speedup_overlapped", double(p) * compute_ms / std::max(compute_ms, allreduce_ms)}});
  }
  return {{"benchmark", "train-scaling"},
          {"machine", describe_machine()},
          {"threads_per_process", threads},
          {"gradient_bytes", bytes},
          {"runs", rows},
          {"paper", {{"gbit_per_s", gbit_per_s}, {"latency_us", latency_us}, {"rows", paper}}}};
}

std::string format_scaling(const Json& result) {
  std::string out = fmt::format(
      "data-parallel training, {} thread(s) per process, gradient {:.1f} MB\n",
      result["threads_per_process"].get<int>(), result["gradient_bytes"].get<double>() / 1e6);
  out +=
      "processes  tokens/s  speed-up  efficiency  ms/step  all-reduce wait ms/step  share  one "
      "all-reduce alone ms\n";
  for (const auto& row : result["runs"])
    out += fmt::format(
        "{:>9}  {:>8.0f}  {:>7.2f}x  {:>9.0f}%  {:>7.1f}  {:>23.1f}  {:>4.0f}%  {:>23.1f}\n",
        row["processes"].get<int>(), row["target_tokens_per_s"].get<double>(),
        row["speedup"].get<double>(), 100 * row["efficiency"].get<double>(),
        row["ms_per_step"].get<double>(), row["allreduce_wait_ms_per_step"].get<double>(),
        100 * row["allreduce_share"].get<double>(), row["allreduce_alone_ms"].get<double>());
  const auto& paper = result["paper"];
  out += fmt::format(
      "\non paper: the 1-process step's compute + a ring all-reduce of the gradient at {} Gbit/s, "
      "{} us per message\n",
      paper["gbit_per_s"].get<double>(), paper["latency_us"].get<double>());
  out +=
      "processes  compute ms  all-reduce ms  step ms  share  speed-up (not hidden)  speed-up "
      "(hidden by backward)\n";
  for (const auto& row : paper["rows"])
    out += fmt::format("{:>9}  {:>10.1f}  {:>13.1f}  {:>7.1f}  {:>4.0f}%  {:>21.1f}x  {:>29.1f}x\n",
                       row["processes"].get<int>(), row["compute_ms"].get<double>(),
                       row["allreduce_ms"].get<double>(), row["step_ms"].get<double>(),
                       100 * row["allreduce_share"].get<double>(), row["speedup"].get<double>(),
                       row["speedup_overlapped"].get<double>());
  return out;
}

}  // namespace seqlab
