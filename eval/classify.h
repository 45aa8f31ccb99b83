// Classifying sentences with a model whose decoder is a classification head (models/classifier.h),
// and scoring labels: accuracy, macro-F1 and the confusion matrix. `seqlab classify`, `seqlab
// eval`, validation and the runner share these; nothing here knows about run directories.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "core/config.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// [B, labels] probabilities: the decoder's first-step logits over the label ids
// (Tokenizer::kNumSpecial + i), softmaxed among the labels alone. The caller sets eval mode.
torch::Tensor label_probabilities(Seq2Seq& model, const Source& source, int64_t labels);

struct Prediction {
  int64_t label = -1;      // index into the label set; -1 for an empty sentence
  double probability = 0;  // of that label
};

// Classifies sentences in length-sorted batches; results in input order. An empty (or all-blank)
// sentence gets label -1 rather than a guess from nothing.
std::vector<Prediction> classify_sentences(Seq2Seq& model, const Tokenizer& tokenizer,
                                           torch::Device device, int64_t labels,
                                           const std::vector<std::string>& sentences,
                                           int64_t batch_tokens = 4000);

// Scores predicted label names against gold ones:
//   {"sentences", "accuracy" (%), "macro_f1" (%, the unweighted mean of per-label F1 over the
//    labels present in gold or predictions, as scikit-learn's f1_score(average="macro")),
//    "labels": [...], "confusion": [[count]] (row = gold, column = predicted, in `labels` order),
//    "per_label": [{"label", "precision", "recall", "f1", "support"}]}
// A predicted or gold name outside `labels` (an empty prediction, say) counts as wrong and gets
// its own row and column.
Json score_classification(const std::vector<std::string>& predicted,
                          const std::vector<std::string>& gold, std::vector<std::string> labels);

// The confusion matrix as a text table (rows gold, columns predicted).
std::string confusion_table(const Json& scored);

}  // namespace seqlab
