// A run directory holds everything needed to rebuild and use a model with no flags to remember:
//   config.json      the fully resolved config
//   tokenizer.json   the tokenizer (shared by source and target)
//   labels.json      classification runs: the label set (label i is target id kNumSpecial + i)
//   checkpoint.pt    latest weights + optimizer + schedule + RNG + data position (for --resume)
//   best.pt          weights with the best validation loss (for eval / translate)
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

// Loads config, tokenizer and weights (best.pt, else checkpoint.pt). InputError when the
// directory is not a run.
LoadedRun load_run(const std::string& run_dir, const std::string& device_override = "");

torch::Device parse_device(const std::string& name);

// Tokenizes pairs into examples (ids without bos/eos).
std::vector<Example> encode_pairs(const Tokenizer& tokenizer, const std::vector<SentencePair>& pairs);

// translate_sentences (eval/translate.h) with the run's model, tokenizer and device.
std::vector<std::string> translate_sentences(LoadedRun& run, const std::vector<std::string>& sources,
                                             const SearchOptions& options,
                                             int64_t batch_tokens = 4000);

// Saves model weights alone (best.pt) in torch's archive format, atomically, and loads them back;
// `entry` names a nested archive (a checkpoint's "model"). InputError for a corrupt or mismatched
// file.
void save_weights(torch::nn::Module& model, const std::string& path);
void load_weights(torch::nn::Module& model, const std::string& path, const std::string& entry = "");

}  // namespace seqlab
