// Evaluating a run directory: load its model, translate a split of its corpus, score it, write the
// hypotheses into the run (and optionally attention maps). `seqlab eval`, `seqlab demo` and the
// experiment runner's cells call this.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

struct EvaluateOptions {
  std::string split = "test";  // valid or test
  int64_t beam = 0;            // 0: the run's eval.beam
  std::string device;          // empty: the run's run.device
  std::string precision;       // empty: the run's eval.precision (fp32 or int8)
  int64_t shortlist = -1;      // translation: -1 the run's eval.shortlist; 0 none; K candidates
  int64_t attention_maps = 0;  // draw the maps of the first N sentences into RUN/attention/
  std::vector<size_t> length_edges = {10, 20, 30, 40};  // BLEU by source length: 1-10, ..., 41+
  size_t grounding_images = 200;  // captioning corpora with <split>.regions.json: images checked
};

// Returns score_translations' object (eval/translate.h) plus "run", "split", "beam",
// "hypotheses" (the file written: RUN/<split>.beam<N>.hyp), "decode_seconds", "sentences_per_s"
// and "attention_maps" (PNG paths; a model without attention gets none and an
// "attention_maps_note" saying so).
// A captioning run (data.task captioning) instead returns score_captions' object (eval/caption.h)
// with "images_per_s", "skipped_images" and, where the corpus marks where each named thing is,
// "attention_grounding" {"images", "words", "mass_in_box", "argmax_in_box"}; its hypotheses file
// has IMAGE<TAB>caption lines.
Json evaluate_run(const std::string& run_dir, const EvaluateOptions& options);

}  // namespace seqlab
