// Synthetic sequence tasks shared by the model tests: copy and reverse, teacher-forced training
// and exact-match scoring with greedy search.
#pragma once

#include <functional>
#include <vector>

#include "core/random.h"
#include "data/batch.h"
#include "models/seq2seq.h"

namespace seqlab::testing {

// Random token sequences of length [min_length, max_length] over ids 4..vocab-1; the target is
// the source, reversed when `reverse`.
std::vector<Example> random_sequences(Rng& rng, int count, int64_t min_length, int64_t max_length,
                                      int64_t vocab, bool reverse);

// Adam on cross-entropy (clipped at 1.0) over `steps` batches from `next_batch`.
void train_teacher_forced(Seq2Seq& model, const std::function<std::vector<Example>()>& next_batch,
                          int steps, double lr);

// How many held-out examples greedy search reproduces exactly.
int exact_matches(Seq2Seq& model, const std::vector<Example>& held_out);

}  // namespace seqlab::testing
