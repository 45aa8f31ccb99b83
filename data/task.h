// Tasks: what a corpus is made of and how it is read, tokenized, batched and referenced at
// evaluation. The trainer, the fitter, evaluation and the runner ask the task; none of them
// knows whether it holds sentence pairs or captioned images.
//   translation  source<TAB>target pairs (TSV); a joint tokenizer over both sides; one reference
//   captioning   images with captions (data/captions.h); the tokenizer sees the captions only; an
//                example per (image, caption) for training, every caption of an image as its
//                references at evaluation; images decoded once and cached as uint8 (data/image.h)
//   classification  sentence<TAB>label lines (TSV); the tokenizer sees the sentences; the target is
//                one label id (Tokenizer::kNumSpecial + the label's index in the run's label set,
//                so the special ids stay unused) framed without bos/eos (Framing::kLabel)
// A new task is one class and one registration line (`seqlab list tasks` shows them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/registry.h"
#include "data/batch.h"
#include "data/image.h"
#include "data/parallel_corpus.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// A split tokenized for a model: examples plus, for image tasks, the pixels they point at.
struct TaskSplit {
  std::vector<Example> examples;
  std::vector<SentencePair>
      pairs;             // the text of each example (source: the image path for captions)
  torch::Tensor images;  // [N, C, H, W] uint8; undefined for text tasks
  std::vector<std::string> skipped;  // bad images left out (data.skip_bad_images), with the reason
  // Streaming captioning (data.streaming, training split): the distinct image files that
  // Example::image indexes, not decoded (`images` stays undefined; data/image_store.h decodes).
  std::vector<std::string> image_paths;
  Framing framing = Framing::kSentence;
  Batch collate(const std::vector<int64_t>& indices) const {
    return seqlab::collate(examples, indices, images, framing);
  }
};

// Evaluation view of a split: each distinct source once, in first-seen order, with all its
// references (references[k][i] is the k-th reference of source i, "" when it has fewer).
struct ReferenceSet {
  std::vector<std::string> sources;
  std::vector<std::vector<std::string>> references;
  size_t size() const { return sources.size(); }
  // Every source's first reference (the single-reference view, e.g. for exact match).
  const std::vector<std::string>& first() const { return references.front(); }
};
ReferenceSet group_references(const std::vector<SentencePair>& pairs);

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual bool reads_images() const { return false; }
  // A split's (source, target) pairs, every line checked.
  virtual std::vector<SentencePair> read_split(const std::string& split) const = 0;
  // What the run's tokenizer is trained on.
  virtual std::vector<std::string> tokenizer_texts(
      const std::vector<SentencePair>& pairs) const = 0;
  // Tokenizes pairs (and decodes their images). `training`: pairs with more than data.max_length
  // tokens on a side, or with nothing to read, are dropped; evaluation keeps everything.
  virtual TaskSplit encode(const std::vector<SentencePair>& pairs, const Tokenizer& tokenizer,
                           bool training) const = 0;

  // Classification tasks: targets are labels from a fixed set, not text. find_labels() names the
  // set a training split implies (sorted, so the same split gives the same ids); the run keeps it
  // (RUN/labels.json) and hands it back with set_labels() before encode(). Label i has target id
  // Tokenizer::kNumSpecial + i.
  virtual bool has_labels() const { return false; }
  virtual std::vector<std::string> find_labels(const std::vector<SentencePair>& train) const;
  void set_labels(std::vector<std::string> labels) { labels_ = std::move(labels); }
  const std::vector<std::string>& labels() const { return labels_; }
  Framing framing() const { return has_labels() ? Framing::kLabel : Framing::kSentence; }

 protected:
  std::vector<std::string> labels_;
};

// One side of each pair, in order (what a tokenizer is trained on).
std::vector<std::string> pair_sides(const std::vector<SentencePair>& pairs, bool source);

// The target vocabulary of a model for a tokenizer and (classification) a label set.
int64_t target_vocabulary(int64_t tokenizer_vocab, const std::vector<std::string>& labels);

// A run's label set: RUN/labels.json ({"labels": [...]}) read and written atomically.
std::vector<std::string> read_labels(const std::string& path);
void write_labels(const std::string& path, const std::vector<std::string>& labels);

SEQLAB_DECLARE_REGISTRY(task_registry, std::unique_ptr<Task>, const Config&);

// The task named by data.task, reading data.corpus.
std::unique_ptr<Task> make_task(const Config& config);

// Decodes the distinct images of `paths` (which may repeat) and returns, per path, its row in the
// set's pixels (-1 when skipped as bad).
std::vector<int64_t> image_rows(const std::vector<std::string>& paths, const ImageOptions& options,
                                ImageSet& set);

}  // namespace seqlab
