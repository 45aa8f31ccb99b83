// A run directory holds everything needed to rebuild and use a model with no flags to remember:
//   config.json      the fully resolved config
//   tokenizer.json   the tokenizer (shared by source and target)
//   labels.json      classification runs: the label set (label i is target id kNumSpecial + i)
//   checkpoint.safetensors  latest weights + optimizer + schedule + RNG + data position (--resume)
//   best.safetensors        weights with the best validation loss (for eval / translate)
//   metrics.jsonl    one JSON record per log / validation event
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "data/batch.h"
#include "data/parallel_corpus.h"
#include "eval/search.h"
#include "eval/translate.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

struct LoadedRun {
  Config config;
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::string> labels;  // classification runs; empty otherwise
  Seq2Seq model{nullptr};
  torch::Device device{torch::kCPU};
};

// The files of a run directory's weights, and those of runs from before safetensors (TorchScript
// archives, read only with --trust-code or after `seqlab convert`).
constexpr const char* kBestWeightsFile = "best.safetensors";
constexpr const char* kCheckpointFile = "checkpoint.safetensors";
constexpr const char* kLegacyBestWeightsFile = "best.pt";
constexpr const char* kLegacyCheckpointFile = "checkpoint.pt";

// Loads config, tokenizer and weights (best, else the checkpoint's). InputError when the
// directory is not a run, or its weights do not fit the model its config builds.
LoadedRun load_run(const std::string& run_dir, const std::string& device_override = "");

// The config, tokenizer, labels and a freshly built model of a run, without its weights.
LoadedRun load_run_without_weights(const std::string& run_dir,
                                   const std::string& device_override = "");
torch::Device parse_device(const std::string& name);

// Tokenizes pairs into examples (ids without bos/eos).
std::vector<Example> encode_pairs(const Tokenizer& tokenizer,
                                  const std::vector<SentencePair>& pairs);

// translate_sentences (eval/translate.h) with the run's model, tokenizer and device.
std::vector<std::string> translate_sentences(LoadedRun& run,
                                             const std::vector<std::string>& sources,
                                             const SearchOptions& options,
                                             int64_t batch_tokens = 4000);

// Saves model weights alone (best.safetensors), atomically, and loads them back; `prefix` selects a
// checkpoint's model tensors ("model."). InputError for a corrupt file or one whose tensors do not
// fit the model (names, dtypes and shapes are all checked before anything is copied).
void save_weights(torch::nn::Module& model, const std::string& path);
void load_weights(torch::nn::Module& model, const std::string& path,
                  const std::string& prefix = "");

}  // namespace seqlab
