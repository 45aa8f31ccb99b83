// Helpers shared by the test binaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace seqlab::testing {

// A fresh empty directory under the build's temp area, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_text(const std::string& path, const std::string& content);

// Sentences of 3-7 letters (a-h) and their reversal, as a TSV corpus directory dir/corpus with
// 400 training, 40 validation and 40 test pairs. Returns the directory.
std::string write_reverse_corpus(const TempDir& dir);

// A captioning corpus dir/squares of 16 x 16 PNGs: a 6 x 6 square of one of three colours in one
// of four quadrants, captioned "red square at top left"; 300 training, 30 validation and 60 test
// scenes, with <split>.regions.json marking the colour word's box. Returns the directory.
std::string write_squares_corpus(const TempDir& dir);

// The step a run directory's checkpoint.safetensors was written at (its "state" record).
int64_t checkpoint_step(const std::string& run_dir);

// The model weights in a run directory's checkpoint.safetensors, rebuilt from its config and
// tokenizer: the parameters, then with `buffers` the buffers.
std::vector<torch::Tensor> checkpoint_tensors(const std::string& run_dir, bool buffers = false);

// `key` of every record of `event` in a run directory's metrics.jsonl, in order.
std::vector<double> logged_values(const std::string& run_dir, const std::string& event,
                                  const std::string& key);

// `base` shifted by SEQLAB_TEST_SEED (default 0): the spread script reruns every learning test
// under other seeds without another build.
uint64_t learning_seed(uint64_t base);

// Intra-op threads for a learning test: SEQLAB_TEST_THREADS, default 1.
void use_learning_threads();

// One line "learning: <test> key=value ..." on stdout, whatever the outcome, for the spread script.
void report_learning(const std::string& test, const std::string& values);

}  // namespace seqlab::testing
