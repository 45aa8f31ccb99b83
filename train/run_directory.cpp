#include "train/run_directory.h"

#include <filesystem>
#include <numeric>

#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "data/task.h"

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
  torch::serialize::OutputArchive archive;
  model.save(archive);
  write_atomic_with(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

void load_weights(torch::nn::Module& model, const std::string& path, const std::string& entry) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    if (entry.empty()) {
      model.load(archive);
    } else {
      torch::serialize::InputArchive nested;
      archive.read(entry, nested);
      model.load(nested);
    }
  } catch (const c10::Error& e) {
    throw InputError(path + ": cannot load weights (corrupt, or from a different model config): " +
                     std::string(e.what_without_backtrace()).substr(0, 300));
  }
}

LoadedRun load_run(const std::string& run_dir, const std::string& device_override) {
  fs::path dir(run_dir);
  if (!fs::exists(dir / "config.json") || !fs::exists(dir / "tokenizer.json"))
    throw InputError(run_dir + " is not a seqlab run directory (no config.json / tokenizer.json; "
                     "make one with `seqlab train --out DIR`)");
  LoadedRun run;
  run.config = Config::from_file((dir / "config.json").string());
  run.tokenizer = Tokenizer::load((dir / "tokenizer.json").string());
  run.device = parse_device(device_override.empty() ? run.config.get_string("run.device")
                                                    : device_override);
  if (fs::exists(dir / "labels.json")) run.labels = read_labels((dir / "labels.json").string());
  int64_t vocab = run.tokenizer->vocab_size();
  run.model = Seq2Seq(run.config, vocab, target_vocabulary(vocab, run.labels));
  // best.pt holds weights alone; a run stopped before its first validation has only the
  // checkpoint, whose weights sit under "model" beside the optimizer state.
  if (fs::exists(dir / "best.pt")) {
    load_weights(*run.model, (dir / "best.pt").string());
  } else if (fs::exists(dir / "checkpoint.pt")) {
    load_weights(*run.model, (dir / "checkpoint.pt").string(), "model");
  } else {
    throw InputError(run_dir + " has no weights (best.pt or checkpoint.pt)");
  }
  run.model->to(run.device);
  run.model->eval();
  return run;
}

std::vector<Example> encode_pairs(const Tokenizer& tokenizer,
                                  const std::vector<SentencePair>& pairs) {
  std::vector<Example> examples;
  examples.reserve(pairs.size());
  for (const auto& pair : pairs)
    examples.push_back({tokenizer.encode(pair.source), tokenizer.encode(pair.target)});
  return examples;
}

std::vector<std::string> translate_sentences(LoadedRun& run, const std::vector<std::string>& sources,
                                             const SearchOptions& options, int64_t batch_tokens) {
  return translate_sentences(run.model, *run.tokenizer, run.device, sources, options, batch_tokens);
}

}  // namespace seqlab
