#include "train/run_directory.h"

#include <filesystem>
#include <numeric>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/tensor_file.h"
#include "core/trust.h"
#include "data/task.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;

namespace seqlab {
torch::Device parse_device(const std::string& name) {
  try {
    torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw InputError("device '" + name + "' requested but this LibTorch has no CUDA device");
    return device;
  } catch (const c10::Error&) {
    throw InputError("unknown device '" + name + "'; expected cpu, cuda or cuda:N");
  }
}

void save_weights(torch::nn::Module& model, const std::string& path) {
  write_tensor_file(path, module_tensors(model), {{"format", "seqlab-weights"}});
}

void load_weights(torch::nn::Module& model, const std::string& path, const std::string& prefix) {
  load_module_tensors(model, TensorFile(path), prefix);
}

LoadedRun load_run_without_weights(const std::string& run_dir, const std::string& device_override) {
  fs::path dir(run_dir);
  if (!fs::exists(dir / "config.json") || !fs::exists(dir / "tokenizer.json"))
    throw InputError(run_dir +
                     " is not a seqlab run directory (no config.json / tokenizer.json; "
                     "make one with `seqlab train --out DIR`)");
  LoadedRun run;
  run.dir = run_dir;
  run.config = Config::from_file((dir / "config.json").string());
  run.tokenizer = Tokenizer::load((dir / "tokenizer.json").string());
  run.device =
      parse_device(device_override.empty() ? run.config.get_string("run.device") : device_override);
  if (fs::exists(dir / "labels.json")) run.labels = read_labels((dir / "labels.json").string());
  int64_t vocab = run.tokenizer->vocab_size();
  run.model = Seq2Seq(run.config, vocab, target_vocabulary(vocab, run.labels));
  return run;
}

LoadedRun load_run(const std::string& run_dir, const std::string& device_override) {
  fs::path dir(run_dir);
  LoadedRun run = load_run_without_weights(run_dir, device_override);
  // best holds weights alone; a run stopped before its first validation has only the
  // checkpoint, whose weights sit under "model." beside the optimizer state.
  if (fs::exists(dir / kBestWeightsFile)) {
    load_weights(*run.model, (dir / kBestWeightsFile).string());
  } else if (fs::exists(dir / kCheckpointFile)) {
    load_weights(*run.model, (dir / kCheckpointFile).string(), "model.");
  } else if (fs::exists(dir / kLegacyBestWeightsFile) || fs::exists(dir / kLegacyCheckpointFile)) {
    const bool best = fs::exists(dir / kLegacyBestWeightsFile);
    const std::string legacy =
        (dir / (best ? kLegacyBestWeightsFile : kLegacyCheckpointFile)).string();
    if (!CodeTrust::granted())
      throw InputError(
          fmt::format("{} holds its weights in seqlab's format before safetensors ({}), a "
                      "TorchScript archive that can run "
                      "code when loaded. If you trust where the run came from, convert it once "
                      "with `seqlab convert {} "
                      "--trust-code` (or pass --trust-code to this command)",
                      run_dir, legacy, run_dir));
    read_legacy_weights(*run.model, legacy, best ? "" : "model");
  } else {
    throw InputError(
        fmt::format("{} has no weights ({} or {})", run_dir, kBestWeightsFile, kCheckpointFile));
  }
  run.model->to(run.device);
  run.model->eval();
  use_precision(run);
  return run;
}

void use_precision(LoadedRun& run, const std::string& name) {
  if (run.own_precision.empty()) run.own_precision = run.config.get_string("eval.precision");
  const std::string chosen = name.empty() ? run.own_precision : name;
  const Precision precision = parse_precision(chosen);
  run.int8.reset();
  if (precision == Precision::int8) {
    if (!run.device.is_cpu())
      throw InputError(
          fmt::format("precision int8 runs on the CPU only (this run is on {})", run.device.str()));
    // A least-squares readout weighs thousands of correlated reservoir features with large
    // coefficients that cancel; 8 bits of them (and 7 of the features) do not cancel: a fitted
    // fashion-scenes captioner decodes word salad in int8 (measured 2026-12-04).
    if (run.config.get_string("train.method") == "ridge")
      throw InputError(fmt::format(
          "{} has a readout fitted in closed form (train.method=ridge), whose large, cancelling "
          "coefficients int8 cannot hold; decode it in fp32",
          run.dir));
    run.int8 = std::make_shared<Int8Weights>(*run.model);
  }
  run.file_variant = chosen == run.own_precision ? "" : "." + chosen;
  run.config = run.config.with("eval.precision=" + chosen);
}

std::vector<Example> encode_pairs(const Tokenizer& tokenizer,
                                  const std::vector<SentencePair>& pairs) {
  std::vector<Example> examples;
  examples.reserve(pairs.size());
  for (const auto& pair : pairs)
    examples.push_back({tokenizer.encode(pair.source), tokenizer.encode(pair.target)});
  return examples;
}

std::vector<std::string> translate_sentences(LoadedRun& run,
                                             const std::vector<std::string>& sources,
                                             const SearchOptions& options, int64_t batch_tokens) {
  SearchOptions search = options;
  if (!search.shortlist) search.shortlist = run.shortlist;
  return translate_sentences(run.model, *run.tokenizer, run.device, sources, search, batch_tokens);
}

void use_shortlist(LoadedRun& run, int64_t per_source) {
  const int64_t own = run.config.get_int("eval.shortlist");
  const int64_t k = per_source < 0 ? own : per_source;
  run.shortlist.reset();
  if (k == 0) return;
  auto task = make_task(run.config);
  if (task->reads_images() || task->has_labels() || task->name() == "sequence")
    throw InputError(fmt::format(
        "{} is a {} run: a vocabulary shortlist is for translating text (source words to "
        "target words)",
        run.dir, run.config.get_string("data.task")));
  const int64_t frequent = run.config.get_int("eval.shortlist_frequent");
  const int64_t vocab = run.tokenizer->vocab_size();
  const std::string path =
      (fs::path(run.dir) / fmt::format("shortlist-k{}-f{}.safetensors", k, frequent)).string();
  if (fs::exists(path)) {
    run.shortlist = std::make_shared<Shortlist>(load_shortlist(path, vocab));
  } else {
    auto examples = encode_pairs(*run.tokenizer, task->read_split("train"));
    auto built = std::make_shared<Shortlist>(build_shortlist(examples, vocab, k, frequent));
    save_shortlist(*built, path);
    run.shortlist = built;
  }
  if (k != own) run.file_variant += fmt::format(".shortlist{}", k);
}

}  // namespace seqlab
