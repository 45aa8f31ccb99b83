// What the trainer and the fitter read and how both score a model on the validation split: the
// corpus tokenized with the run's tokenizer (trained on the first start, reloaded on resume), the
// token-level loss, and validation loss + greedy BLEU.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/optimizer.h>

#include "core/config.h"
#include "data/batch.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

class ShardSet;
class ImageStore;

struct TrainingData {
  std::unique_ptr<Tokenizer> tokenizer;
  // The training split: in memory (`train`), or with data.streaming as memory-mapped shards
  // (`train_shards`, text) and images decoded as batches ask for them (`train_image_store`,
  // captioning). Read it through train_size(), train_lengths(), train_batch() and
  // train_target_tokens(), which serve both.
  std::vector<Example> train, valid;
  std::shared_ptr<const ShardSet> train_shards;
  std::shared_ptr<ImageStore> train_image_store;
  torch::Tensor train_images, valid_images;  // image tasks: what Example::image points at
  // Validation BLEU: the sources to decode (an example index each) and all their references.
  std::vector<int64_t> valid_bleu_examples;
  std::vector<std::vector<std::string>> valid_references;  // [k][i]
  // Classification: the label set (RUN/labels.json) and label framing; empty for text targets.
  std::vector<std::string> labels;
  Framing framing = Framing::kSentence;
  std::string task;  // the task's name (data/task.h)
  int64_t train_size() const;
  // What TokenBucketBatcher buckets the training split by (per example max(source, target + 1)).
  std::vector<int64_t> train_lengths() const;
  int64_t train_target_tokens(const std::vector<int64_t>& indices) const;
  // Collates training examples (thread-safe: the streaming loader calls it from its workers).
  // Streaming captioning: an example whose image turns out bad is left out of the batch under
  // data.skip_bad_images (the batch may then be empty), else an InputError naming the file.
  Batch train_batch(const std::vector<int64_t>& indices) const;
  Batch valid_batch(const std::vector<int64_t>& indices) const {
    return collate(valid, indices, valid_images, framing);
  }
  // What the model's output layer covers: the tokenizer's vocabulary, or specials + labels.
  int64_t target_vocab() const;
};

// Reads data.corpus's train and valid splits through the task (data/task.h); trains and saves
// run_dir/tokenizer.json unless resuming with one there (and, for classification tasks, the label
// set as run_dir/labels.json). Training pairs longer than data.max_length are skipped.
TrainingData load_training_data(const Config& config, const std::string& run_dir, bool resume);

class GradientReducer;

class Communicator;

// The same, as one rank of a data-parallel job (`communicator` null: a single process): rank 0
// reads first (preparing the corpus, training and saving the tokenizer and labels), the others
// load what it wrote once it is done.
TrainingData load_training_data(const Config& config, const std::string& run_dir, bool resume,
                                Communicator* communicator);

// One gradient step on a batch: the summed loss (Seq2SeqImpl::loss_sum) divided by `normalizer`
// (0: the batch's target tokens), backward, gradient norm clipped to `clip` (0: not clipped),
// optimizer step. Returns the summed loss (for logging; reading it syncs with the device).
// Data parallel (train/distributed.h): `batch` is this rank's slice of the global batch (possibly
// empty), `normalizer` the global batch's target tokens, and `reducer` sums the gradients over the
// ranks between the backward pass and the step.
torch::Tensor train_step(Seq2Seq& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                         double smoothing, double clip, int64_t normalizer = 0,
                         GradientReducer* reducer = nullptr);

struct ValidationScore {
  double loss = 0;  // cross-entropy per target token
  double bleu = 0;  // greedy, on the first train.valid_bleu_sentences sentences (0 if none)
  double chrf = -1,
         cider = -1;  // on the same hypotheses, when train.early_stop_metric asks (else -1)
  // Classification: % of validation sentences labelled right; sequence task: % of next tokens
  // that are the model's argmax (teacher-forced); -1 for the other tasks.
  double accuracy = -1;
  bool next_token = false;  // the sequence task: perplexity is what to read
  // What the trainer logs beside the loss: {"bleu"}, {"accuracy"} (classification) or
  // {"accuracy", "perplexity"} (sequence task).
  Json scores() const;
  // The value of `metric` (train.early_stop_metric: loss, bleu, chrf, cider or accuracy).
  double value(const std::string& metric) const;
};

// Scores `model` on the validation split (eval mode inside, train mode restored after).
ValidationScore validate_model(Seq2Seq& model, const TrainingData& data, const Config& config,
                               torch::Device device);

}  // namespace seqlab
