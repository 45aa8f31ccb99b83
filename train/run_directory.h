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
#include "core/int8_gemm.h"
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
  // Set while the model decodes with int8 weights (eval.precision or --precision int8).
  std::shared_ptr<Int8Weights> int8;
  // The precision the run's config.json names, and what files an evaluation writes carry before
  // their extension: empty in that precision, ".int8" (".fp32") when another was asked for.
  std::string own_precision, file_variant;
  std::string dir;  // where it was loaded from
  // The lexical shortlist translation decodes over (use_shortlist), or null.
  std::shared_ptr<const Shortlist> shortlist;
};

// The files of a run directory's weights, and those of runs from before safetensors (TorchScript
// archives, read only with --trust-code or after `seqlab convert`).
constexpr const char* kBestWeightsFile = "best.safetensors";
constexpr const char* kCheckpointFile = "checkpoint.safetensors";
constexpr const char* kLegacyBestWeightsFile = "best.pt";
constexpr const char* kLegacyCheckpointFile = "checkpoint.pt";

// Loads config, tokenizer and weights (best, else the checkpoint's), in the config's
// eval.precision. InputError when the directory is not a run, or its weights do not fit the model
// its config builds.
LoadedRun load_run(const std::string& run_dir, const std::string& device_override = "");

// Puts the model in the precision `name` names ("fp32", "int8"; empty: the config's
// eval.precision) and records it in the run's config. int8 needs the model on the CPU and a
// gradient-trained model: a readout fitted in closed form (train.method=ridge) is refused
// (InputError).
void use_precision(LoadedRun& run, const std::string& name = "");

// Decodes translations over a lexical shortlist of `per_source` candidates per source token plus
// the config's eval.shortlist_frequent most frequent targets (-1: the config's eval.shortlist;
// 0: none). Kept in the run as shortlist-k<K>-f<F>.safetensors, built from the training split on
// first use. Text-to-text runs only (InputError otherwise).
void use_shortlist(LoadedRun& run, int64_t per_source = -1);

// The config, tokenizer, labels and a freshly built model of a run, without its weights.
LoadedRun load_run_without_weights(const std::string& run_dir,
                                   const std::string& device_override = "");
torch::Device parse_device(const std::string& name);

// Tokenizes pairs into examples (ids without bos/eos).
std::vector<Example> encode_pairs(const Tokenizer& tokenizer,
                                  const std::vector<SentencePair>& pairs);

// translate_sentences (eval/translate.h) with the run's model, tokenizer, device and shortlist.
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
