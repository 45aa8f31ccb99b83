// Batch translation as a tool: reads any amount of text as a stream, a chunk of lines at a time,
// sorts each chunk into length buckets, decodes the buckets on one or more workers (several batches
// in flight, each on its share of the cores) and writes every chunk back in input order before
// reading far ahead. Plain lines or JSON lines with the score and, for attention models, a hard
// source-target alignment. `seqlab translate` is this; `translate_sentences` (eval/translate.h) is
// the in-memory path it must agree with line for line.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <torch/types.h>

#include "eval/search.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

// At most this many workers when their number is chosen by measuring (each holds its batch's
// activations, and with a shortlist a model of its own).
constexpr int kMaxAutoWorkers = 8;

struct StreamTranslateOptions {
  SearchOptions search;
  int64_t batch_tokens = 4000;  // padded source tokens per batch (divided by the beam)
  int64_t chunk_sentences =
      5000;  // lines read, sorted and decoded together; memory is bounded by it
  // Batches in flight. Each worker decodes its own batch on intra_threads / workers intra-op
  // threads (at least one). Workers share one model, except with a shortlist (which restricts the
  // model's output layer): then each worker needs a model of its own. 0 = choose by measuring:
  // on the first chunk with 1 + 3W batches (W = min(intra_threads, 8)), after a warm-up share
  // each, alternate batches go to one worker on every thread and to W single-threaded workers;
  // the faster goes on (one worker where a shortlist lacks the models).
  int workers = 1;
  int intra_threads = 1;    // the intra-op threads in effect for the whole translation
  bool json = false;        // JSON lines instead of plain text
  bool alignments = false;  // JSON lines with "alignment" (needs a model with cross-attention)
  bool progress = false;    // a progress line on stderr (callers pass isatty(2))
  std::string input_name = "stdin";  // for error messages: "<input_name>:<line>"
};

struct StreamTranslateStats {
  int64_t lines = 0;          // lines read (and written)
  int64_t sentences = 0;      // non-empty lines decoded
  int64_t output_tokens = 0;  // generated tokens, eos excluded
  double seconds = 0;
  int workers = 1;              // batches in flight (as chosen, with workers = 0)
  double measured_speedup = 0;  // workers = 0: several workers' rate over one's (0: not measured)
};

// Translates `in` to `out`, one output line per input line, flushed after every chunk. `models`
// holds one model per worker, or a single model shared by all workers (not with a shortlist).
// InputError for invalid UTF-8 (naming the line; earlier chunks have been written), for alignments
// from a model without attention from the target to the source, and for a shortlist shared by
// several workers.
StreamTranslateStats translate_stream(const std::vector<Seq2Seq>& models,
                                      const Tokenizer& tokenizer, torch::Device device,
                                      std::istream& in, std::ostream& out,
                                      const StreamTranslateOptions& options);

}  // namespace seqlab
