// seqlab bench compare: seqlab against the same models in Python PyTorch, on the same machine, in
// the same run. One workload (training batches and decoding batches of token ids) is generated
// here, written to a file and read by bench/pytorch_twins.py, which serves one measurement per
// request; the two sides alternate (who goes first swaps every round), so drifts of the machine
// fall on both. Decoding bans eos on both sides until the length limit, so both produce the same
// number of tokens. A speed claim is a ratio from one such run, never a figure from elsewhere.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <unistd.h>

#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "core/child_process.h"
#include "core/error.h"
#include "core/files.h"
#include "core/gemm.h"
#include "core/int8_gemm.h"
#include "core/random.h"
#include "core/runtime.h"
#include "eval/search.h"
#include "eval/shortlist.h"
#include "train/training_data.h"

namespace seqlab {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMaxLengthRatio = 1.2;
constexpr int64_t kMaxLengthExtra = 2;
constexpr int64_t kBeams[] = {1, 5};
// The lexical shortlist decoding is timed with: candidates per source token, frequent targets.
constexpr int64_t kShortlistPerSource = 20;
constexpr int64_t kShortlistFrequent = 100;

// A decoding option timed beside fp32: int8 weights, the shortlist, or both.
struct DecodeOption {
  std::string suffix;  // of the task name: "greedy" + suffix
  bool int8 = false, shortlist = false;
};
const DecodeOption kDecodeOptions[] = {{"", false, false},
                                       {"_int8", true, false},
                                       {"_shortlist", false, true},
                                       {"_int8_shortlist", true, true}};

struct Workload {
  std::vector<Example> train_examples, decode_examples;
  std::vector<std::vector<int64_t>> train_batches;                      // warmup + steps
  std::map<int64_t, std::vector<std::vector<int64_t>>> decode_batches;  // by beam width
  std::shared_ptr<const Shortlist> shortlist;
  std::map<int64_t, std::vector<torch::Tensor>> shortlist_rows;  // per decoding batch
};

// Pairs over a Zipf-distributed vocabulary (exponent 1, as the words of text are) whose target is
// a fixed one-to-one mapping of the source tokens, a tenth of them replaced by other words, with
// synthetic_pairs' lengths: a lexical shortlist learns the mapping from them, and a batch of them
// holds about as many distinct tokens as a batch of text. (Uniform tokens would put nearly the
// whole vocabulary in every batch's shortlist.)
std::vector<Example> lexical_pairs(int64_t count, int64_t vocab, uint64_t seed) {
  const int64_t words = vocab - 4;
  std::vector<double> cumulative(static_cast<size_t>(words));
  double total = 0;
  for (int64_t r = 0; r < words; ++r) cumulative[size_t(r)] = total += 1.0 / double(r + 1);
  Rng rng(seed);
  auto draw = [&] {
    double u = rng.uniform() * total;
    return 4 + static_cast<int64_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) -
                                    cumulative.begin());
  };
  auto translate = [&](int64_t token) { return 4 + ((token - 4) * 7919 + 13) % words; };
  std::vector<Example> out;
  for (int64_t i = 0; i < count; ++i) {
    Example ex;
    int64_t source_len = 5 + static_cast<int64_t>(rng.below(21));
    int64_t target_len = std::max<int64_t>(3, source_len + static_cast<int64_t>(rng.below(7)) - 2);
    for (int64_t t = 0; t < source_len; ++t) ex.source.push_back(std::min(draw(), vocab - 1));
    for (int64_t t = 0; t < target_len; ++t)
      ex.target.push_back(t < source_len && rng.below(10) != 0 ? translate(ex.source[size_t(t)])
                                                               : std::min(draw(), vocab - 1));
    out.push_back(ex);
  }
  return out;
}

Workload make_workload(const CompareOptions& o) {
  Workload w;
  w.train_examples = synthetic_pairs(20000, kBenchVocab, 1);
  auto epoch = TokenBucketBatcher(w.train_examples, o.batch_tokens, 0, 1).epoch(0);
  const auto wanted = static_cast<size_t>(o.warmup + o.steps);
  if (epoch.size() < wanted)
    throw InputError(
        fmt::format("--steps: at most {} batches of {} tokens", epoch.size(), o.batch_tokens));
  w.train_batches.assign(epoch.begin(), epoch.begin() + static_cast<std::ptrdiff_t>(wanted));
  w.decode_examples = lexical_pairs(o.sentences, kBenchVocab, 2);
  w.shortlist = std::make_shared<Shortlist>(build_shortlist(
      lexical_pairs(20000, kBenchVocab, 1), kBenchVocab, kShortlistPerSource, kShortlistFrequent));
  for (int64_t beam : kBeams) {  // as `seqlab bench decode` batches them
    w.decode_batches[beam] =
        TokenBucketBatcher(w.decode_examples, std::max<int64_t>(64, 2000 / beam), 0, 0).sorted();
    for (const auto& b : w.decode_batches[beam])
      w.shortlist_rows[beam].push_back(
          w.shortlist->for_sources(collate(w.decode_examples, b).source));
  }
  return w;
}

void write_workload(const Workload& w, const CompareOptions& o, const std::string& path) {
  auto ids = [](const std::vector<Example>& examples, const std::vector<int64_t>& indices,
                bool source) {
    Json rows = Json::array();
    for (int64_t i : indices) rows.push_back(source ? examples[i].source : examples[i].target);
    return rows;
  };
  Json train = Json::array();
  for (const auto& b : w.train_batches)
    train.push_back(
        {{"source", ids(w.train_examples, b, true)}, {"target", ids(w.train_examples, b, false)}});
  Json decode = Json::object();
  for (const auto& [beam, batches] : w.decode_batches) {
    Json list = Json::array();
    for (size_t i = 0; i < batches.size(); ++i) {
      const auto& rows = w.shortlist_rows.at(beam)[i];
      list.push_back(
          {{"source", ids(w.decode_examples, batches[i], true)},
           {"shortlist", std::vector<int64_t>(rows.data_ptr<int64_t>(),
                                              rows.data_ptr<int64_t>() + rows.numel())}});
    }
    decode[std::to_string(beam)] = list;
  }
  Json workload = {{"vocab", kBenchVocab},
                   {"warmup", o.warmup},
                   {"train", train},
                   {"decode", decode},
                   {"max_length_ratio", kMaxLengthRatio},
                   {"max_length_extra", kMaxLengthExtra}};
  std::ofstream(path) << workload.dump();
}

// seqlab's side: the model and optimizer live across rounds, as the Python twin's do.
class SeqlabSide {
 public:
  SeqlabSide(const Config& config, const Workload& w) : model_(nullptr), shortlist_(w.shortlist) {
    torch::manual_seed(0);
    model_ = Seq2Seq(config, kBenchVocab, kBenchVocab);
    optimizer_ = std::make_unique<torch::optim::AdamW>(model_->parameters(),
                                                       torch::optim::AdamWOptions(1e-3));
    for (const auto& b : w.train_batches) train_.push_back(collate(w.train_examples, b));
    for (const auto& [beam, batches] : w.decode_batches)
      for (const auto& b : batches) decode_[beam].push_back(collate(w.decode_examples, b));
  }
  int64_t parameters() const { return model_->parameter_count(); }
  const Seq2Seq& model() const { return model_; }

  Json train(int64_t warmup) {  // the trainer's step, as `seqlab bench train` runs it
    model_->train();
    double seconds = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < train_.size(); ++i) {
      const Batch& batch = train_[i];
      auto start = Clock::now();
      train_step(model_, *optimizer_, batch, /*smoothing=*/0.1,
                 /*clip=*/1.0);  // the trainer's step
      if (static_cast<int64_t>(i) >= warmup) {
        seconds += std::chrono::duration<double>(Clock::now() - start).count();
        tokens += batch.target_tokens;
      }
    }
    return {{"seconds", seconds}, {"target_tokens", tokens}};
  }

  // Self time per operator over `work`, divided by `units` (ms per training step, per greedy pass
  // over the decoding batches), from the same profiler that
  // Python's torch.autograd.profiler.profile() runs (the "Kineto" collector, CPU events), with
  // self time computed as its key_averages() does: an event's duration less its children's on
  // the same thread. (LibTorch's legacy profiler charges several microseconds to every tiny op
  // such as select, which inflated seqlab's side tenfold for ops Python saw as free.)
  Json profile(const std::function<void()>& work, double units) {
    namespace profiler = torch::autograd::profiler;
    using torch::profiler::impl::ActivityType;
    torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
    profiler::prepareProfiler(config, {ActivityType::CPU});
    profiler::enableProfiler(config, {ActivityType::CPU});
    work();
    auto result = profiler::disableProfiler();
    struct Span {
      uint64_t thread, start, end;
      std::string name;
    };
    std::vector<Span> spans;
    for (const auto& e : result->events())
      spans.push_back({e.startThreadId(), e.startUs(), e.startUs() + e.durationUs(), e.name()});
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return std::tie(a.thread, a.start, b.end) < std::tie(b.thread, b.start, a.end);
    });
    std::map<std::string, double> self_us;
    std::vector<const Span*> stack;  // open ancestors of the current event, on its thread
    for (const auto& span : spans) {
      while (!stack.empty() &&
             (stack.back()->thread != span.thread || stack.back()->end <= span.start))
        stack.pop_back();
      const double duration = static_cast<double>(span.end - span.start);
      self_us[span.name] += duration;
      if (!stack.empty()) self_us[stack.back()->name] -= duration;
      stack.push_back(&span);
    }
    Json out = Json::object();
    for (const auto& [name, us] : self_us) out[name] = us / 1000.0 / units;
    return out;
  }

  // The training steps (the warm-up batches are profiled too, and divided out).
  Json profile_training(int64_t warmup) {
    return profile([&] { train(warmup); }, static_cast<double>(train_.size()));
  }
  Json profile_greedy() {
    return profile([&] { decode(1); }, 1.0);
  }

  // With int8, the weights are quantized before the clock starts (as `seqlab translate` does once
  // at load); the shortlist's rows are looked up per batch inside the timed region.
  Json decode(int64_t beam, const DecodeOption& option = {}) {
    model_->eval();
    SearchOptions options;
    options.beam = beam;
    options.max_length_ratio = kMaxLengthRatio;
    options.max_length_extra = kMaxLengthExtra;
    options.min_length = std::numeric_limits<int32_t>::max();  // never stop before the limit
    if (option.shortlist) options.shortlist = shortlist_;
    std::unique_ptr<Int8Weights> int8;
    if (option.int8) int8 = std::make_unique<Int8Weights>(*model_);
    int64_t sentences = 0, produced = 0;
    auto start = Clock::now();
    for (const Batch& batch : decode_[beam]) {
      for (const auto& h : search(model_, Source::of(batch), options))
        produced += static_cast<int64_t>(h.tokens.size());
      sentences += batch.size();
    }
    return {{"seconds", std::chrono::duration<double>(Clock::now() - start).count()},
            {"sentences", sentences},
            {"output_tokens", produced}};
  }

 private:
  Seq2Seq model_;
  std::shared_ptr<const Shortlist> shortlist_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<Batch> train_;
  std::map<int64_t, std::vector<Batch>> decode_;
};

class PythonSide {
 public:
  PythonSide(const CompareOptions& o, const std::string& workload_path)
      : child_({o.python, seqlab_home() + "/bench/pytorch_twins.py", "--workload", workload_path,
                "--threads", std::to_string(at::get_num_threads())}) {
    try {
      hello_ = Json::parse(child_.read_line());
    } catch (const Error& e) {
      throw Error(
          fmt::format("{}\nbench compare needs Python 3 with Debian's PyTorch: apt-get install "
                      "python3-torch (scripts/setup.sh installs it)",
                      e.what()));
    }
  }
  ~PythonSide() {
    try {
      child_.write_line(R"({"op": "quit"})");
    } catch (...) {
    }
  }
  const Json& hello() const { return hello_; }
  Json ask(Json request) {
    child_.write_line(request.dump());
    return Json::parse(child_.read_line());
  }

 private:
  ChildProcess child_;
  Json hello_;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Rates of both sides over the rounds and their ratios: median and range. `counted` holds what each
// side counted in a round (tokens trained on or produced): equal work, or the comparison is void.
Json summarise(const std::string& unit, const std::vector<double>& seqlab,
               const std::vector<double>& python, const std::pair<double, double>& counted) {
  std::vector<double> ratios;
  for (size_t i = 0; i < seqlab.size(); ++i) ratios.push_back(seqlab[i] / python[i]);
  auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
  return {{"unit", unit},
          {"seqlab", median(seqlab)},
          {"python", median(python)},
          {"seqlab_rounds", seqlab},
          {"python_rounds", python},
          {"seqlab_count", counted.first},
          {"python_count", counted.second},
          {"ratio", median(ratios)},
          {"ratio_min", *low},
          {"ratio_max", *high}};
}

// One task measured `rounds` times on both sides, alternating who goes first. `count` names the
// reply field that is counted ("target_tokens", "output_tokens").
template <typename SeqlabRun, typename PythonRun>
Json alternate(int64_t rounds, const std::string& count, const std::string& label,
               SeqlabRun seqlab_run, PythonRun python_run) {
  const std::string unit = count == "target_tokens" ? "target tokens/s" : "output tokens/s";
  std::vector<double> seqlab, python;
  std::pair<double, double> counted;
  auto measure = [&](auto& run, std::vector<double>& rates, double& units) {
    Json reply = run();
    units = reply.at(count).get<double>();
    rates.push_back(units / reply.at("seconds").get<double>());
  };
  for (int64_t r = 0; r < rounds; ++r) {
    if (r % 2 == 0) {
      measure(seqlab_run, seqlab, counted.first);
      measure(python_run, python, counted.second);
    } else {
      measure(python_run, python, counted.second);
      measure(seqlab_run, seqlab, counted.first);
    }
    std::fprintf(stderr, "compare: %s round %lld/%lld: seqlab %.0f, python %.0f %s\n",
                 label.c_str(), static_cast<long long>(r + 1), static_cast<long long>(rounds),
                 seqlab.back(), python.back(), unit.c_str());
  }
  if (counted.first != counted.second)
    throw Error(fmt::format(
        "bench compare: {}: seqlab counted {} and Python {} units of work in a round; the "
        "two sides must run the same batches",
        label, counted.first, counted.second));
  return summarise(unit, seqlab, python, counted);
}

// The operators that take the most self time on either side: ms per training step, or per greedy
// pass over the decoding batches.
std::string format_profile(const std::string& title, const Json& seqlab, const Json& python) {
  std::map<std::string, std::pair<double, double>> both;
  double seqlab_total = 0, python_total = 0;
  for (const auto& [op, ms] : seqlab.items()) {
    both[op].first = ms.get<double>();
    seqlab_total += ms.get<double>();
  }
  for (const auto& [op, ms] : python.items()) {
    both[op].second = ms.get<double>();
    python_total += ms.get<double>();
  }
  std::vector<std::pair<std::string, std::pair<double, double>>> rows(both.begin(), both.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::max(a.second.first, a.second.second) > std::max(b.second.first, b.second.second);
  });
  std::string out = fmt::format(
      "  {}, self time per operator (profiled, ms): seqlab {:.1f} in all, python {:.1f}\n", title,
      seqlab_total, python_total);
  for (size_t i = 0; i < rows.size() && i < 12; ++i)
    out += fmt::format("    {:<44} {:>8.1f} {:>8.1f}\n", rows[i].first, rows[i].second.first,
                       rows[i].second.second);
  return out;
}

// The fp32 GEMM rate of LibTorch's own BLAS kernel (the one Python's torch runs on), whatever
// seqlab's backend is.
double blas_gflops() {
  GemmBackendScope blas(GemmBackend::blas);
  return gemm_gflops();
}

}  // namespace

Json bench_compare(const CompareOptions& o) {
  if (o.rounds < 1 || o.steps < 1 || o.warmup < 0 || o.sentences < 1)
    throw InputError(
        "bench compare: --rounds, --steps and --sentences must be >= 1, --warmup >= 0");
  for (const auto& name : o.models)
    if (name != "gru" && name != "gru-bahdanau" && name != "transformer")
      throw InputError(
          fmt::format("bench compare: unknown model '{}' (gru, gru-bahdanau, transformer: the "
                      "models with a Python twin)",
                      name));
  Json result = {{"benchmark", "compare"},  {"machine", describe_machine()},
                 {"rounds", o.rounds},      {"steps", o.steps},
                 {"warmup", o.warmup},      {"batch_tokens", o.batch_tokens},
                 {"sentences", o.sentences}};
  result["gemm_gflops_start"] = gemm_gflops();
  result["blas_gflops_start"] = blas_gflops();
  Workload workload = make_workload(o);
  if (o.decode_options) {
    double rows = 0;
    int64_t batches = 0;
    for (const auto& [beam, list] : workload.shortlist_rows)
      for (const auto& ids : list) {
        rows += double(ids.numel());
        ++batches;
      }
    result["shortlist"] = {{"per_source", kShortlistPerSource},
                           {"frequent", kShortlistFrequent},
                           {"mean_rows", rows / double(std::max<int64_t>(1, batches))},
                           {"vocab", kBenchVocab}};
    result["int8_path"] = describe_int8_path();
  }
  auto directory =
      std::filesystem::temp_directory_path() / fmt::format("seqlab-compare-{}", getpid());
  std::filesystem::create_directories(directory);
  const std::string workload_path = (directory / "workload.json").string();
  write_workload(workload, o, workload_path);
  Json models = Json::object();
  {
    PythonSide python(o, workload_path);
    result["python"] = python.hello();
    for (const auto& name : o.models) {
      Config config = bench_config(name, {});
      SeqlabSide seqlab(config, workload);
      Json entry = {
          {"description", describe(config, seqlab.model())},
          {"parameters", seqlab.parameters()},
          {"python_parameters", python.ask({{"op", "parameters"}, {"model", name}})["parameters"]}};
      entry["train"] = alternate(
          o.rounds, "target_tokens", name + " train", [&] { return seqlab.train(o.warmup); },
          [&] {
            return python.ask({{"op", "train"}, {"model", name}});
          });
      for (int64_t beam : kBeams)
        for (const auto& option : kDecodeOptions) {
          if ((option.int8 || option.shortlist) && !o.decode_options) continue;
          std::string task = (beam == 1 ? "greedy" : fmt::format("beam{}", beam)) + option.suffix;
          entry[task] = alternate(
              o.rounds, "output_tokens", name + " " + task,
              [&] { return seqlab.decode(beam, option); },
              [&] {
                return python.ask({{"op", "decode"},
                                   {"model", name},
                                   {"beam", beam},
                                   {"int8", option.int8},
                                   {"shortlist", option.shortlist}});
              });
        }
      if (name == "transformer") {  // the same algorithm as nn.Transformer's loop: no cache
        SeqlabSide recompute(config.with("model.transformer.kv_cache=false"), workload);
        for (int64_t beam : kBeams) {
          std::string task = beam == 1 ? "greedy_no_cache" : fmt::format("beam{}_no_cache", beam);
          entry[task] = alternate(
              o.rounds, "output_tokens", name + " " + task, [&] { return recompute.decode(beam); },
              [&] {
                return python.ask({{"op", "decode"}, {"model", name}, {"beam", beam}});
              });
        }
      }
      if (o.profile) {
        entry["profile"] = {
            {"seqlab_self_ms_per_step", seqlab.profile_training(o.warmup)},
            {"python_self_ms_per_step",
             python.ask({{"op", "profile"}, {"model", name}, {"task", "train"}})["self_ms"]}};
        entry["profile_greedy"] = {
            {"seqlab_self_ms_per_pass", seqlab.profile_greedy()},
            {"python_self_ms_per_pass",
             python.ask({{"op", "profile"}, {"model", name}, {"task", "greedy"}})["self_ms"]}};
      }
      // GEMM work of a training step, counted by PyTorch's profiler on the twin (not timed).
      double flops = python.ask({{"op", "flops"}, {"model", name}})["gemm_flops_per_target_token"]
                         .get<double>();
      entry["gemm_flops_per_target_token"] = flops;
      models[name] = entry;
    }
  }
  std::filesystem::remove_all(directory);
  result["gemm_gflops_end"] = gemm_gflops();
  result["blas_gflops_end"] = blas_gflops();
  // Each side's share of the rate of the GEMM it runs on: seqlab's backend, Python's BLAS.
  double gemm =
      std::max(result["gemm_gflops_start"].get<double>(), result["gemm_gflops_end"].get<double>());
  double blas =
      std::max(result["blas_gflops_start"].get<double>(), result["blas_gflops_end"].get<double>());
  for (auto& [name, entry] : models.items()) {
    double flops = entry["gemm_flops_per_target_token"].get<double>();
    entry["train"]["gemm_share_seqlab"] =
        flops * entry["train"]["seqlab"].get<double>() / (gemm * 1e9);
    entry["train"]["gemm_share_python"] =
        flops * entry["train"]["python"].get<double>() / (blas * 1e9);
  }
  result["models"] = models;
  return result;
}

std::string format_compare(const Json& r) {
  const Json& m = r["machine"];
  std::string simd;
  for (const auto& flag : m["simd"]) simd += (simd.empty() ? "" : " ") + flag.get<std::string>();
  std::string environment;
  for (const auto& [key, value] : m["environment"].items())
    environment +=
        fmt::format("{}{}={}", environment.empty() ? "" : " ", key, value.get<std::string>());
  std::string out = fmt::format(
      "machine: {} (family/model {}), {} cores, {} threads; SIMD: {}\n"
      "kernels: ATen {}; BLAS {} (core {}); seqlab's matrix products: {}{}\n"
      "python: {} with torch {}\n"
      "fp32 GEMM 1024^3, GFLOP/s at the start / end: seqlab's {:.0f} / {:.0f}, LibTorch's BLAS "
      "(Python's) {:.0f} / {:.0f}\n"
      "{} rounds, alternating; training: {} timed steps of {} padded tokens per round; decoding: "
      "{} sentences of Zipf-distributed words, every hypothesis forced to int(1.2 x source) + 2 "
      "tokens on both sides\n\n",
      m["cpu"].get<std::string>(), m["cpu_family_model"].get<std::string>(), m["cores"].get<int>(),
      m["threads"].get<int>(), simd, m["aten_capability"].get<std::string>(),
      m["blas"].get<std::string>(), m["blas_core"].get<std::string>(),
      m["gemm_backend"].get<std::string>(),
      environment.empty() ? "" : "; environment: " + environment,
      r["python"]["python"].get<std::string>(), r["python"]["torch"].get<std::string>(),
      r["gemm_gflops_start"].get<double>(), r["gemm_gflops_end"].get<double>(),
      r["blas_gflops_start"].get<double>(), r["blas_gflops_end"].get<double>(),
      r["rounds"].get<int64_t>(), r["steps"].get<int64_t>(), r["batch_tokens"].get<int64_t>(),
      r["sentences"].get<int64_t>());
  if (r.contains("shortlist"))
    out =
        out.substr(0, out.size() - 1) +
        fmt::format(
            "int8: weights per output channel on both sides (seqlab: {}; Python: "
            "quantize_dynamic, engine {}); shortlist: {} candidates per source token + {} "
            "frequent, {:.0f} of {} rows per batch on average, the same rows on both sides\n\n",
            r["int8_path"].get<std::string>(), r["python"].value("quantized_engine", "?"),
            r["shortlist"]["per_source"].get<int64_t>(), r["shortlist"]["frequent"].get<int64_t>(),
            r["shortlist"]["mean_rows"].get<double>(), r["shortlist"]["vocab"].get<int64_t>());
  out += fmt::format("{:<13} {:<21} {:<16} {:>9} {:>9}  {:<20} {}\n", "model", "task", "unit",
                     "seqlab", "python", "ratio (min-max)", "GEMM share seqlab / python");
  for (const auto& name : {"gru", "gru-bahdanau", "transformer"}) {
    if (!r["models"].contains(name)) continue;
    const Json& entry = r["models"][name];
    for (const std::string task :
         {"train", "greedy", "greedy_int8", "greedy_shortlist", "greedy_int8_shortlist", "beam5",
          "beam5_int8", "beam5_shortlist", "beam5_int8_shortlist", "greedy_no_cache",
          "beam5_no_cache"}) {
      if (!entry.contains(task)) continue;
      const Json& row = entry[task];
      std::string share =
          row.contains("gemm_share_seqlab")
              ? fmt::format("{:.0f}% / {:.0f}%", 100 * row["gemm_share_seqlab"].get<double>(),
                            100 * row["gemm_share_python"].get<double>())
              : "";
      out += fmt::format(
          "{:<13} {:<21} {:<16} {:>9.0f} {:>9.0f}  {:<20} {}\n", name, task,
          row["unit"].get<std::string>(), row["seqlab"].get<double>(), row["python"].get<double>(),
          fmt::format("{:.2f} ({:.2f}-{:.2f})", row["ratio"].get<double>(),
                      row["ratio_min"].get<double>(), row["ratio_max"].get<double>()),
          share);
    }
    if (entry.contains("profile"))
      out += format_profile(fmt::format("{} training step", name),
                            entry["profile"]["seqlab_self_ms_per_step"],
                            entry["profile"]["python_self_ms_per_step"]);
    if (entry.contains("profile_greedy"))
      out += format_profile(fmt::format("{} greedy decoding, one pass over the batches", name),
                            entry["profile_greedy"]["seqlab_self_ms_per_pass"],
                            entry["profile_greedy"]["python_self_ms_per_pass"]);
    if (entry["parameters"] != entry["python_parameters"])
      out += fmt::format("  note: {} has {} parameters here and {} in Python\n", name,
                         entry["parameters"].get<int64_t>(),
                         entry["python_parameters"].get<int64_t>());
  }
  return out;
}

}  // namespace seqlab
