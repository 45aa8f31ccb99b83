// The runner tests' tiny experiment: a GRU on the reversal corpus and a spec over its decoder.
#pragma once

#include <string>

#include "core/config.h"
#include "runner/runner.h"
#include "tests/test_support.h"

namespace seqlab::testing {

// A tiny GRU on the reversal corpus: 40 updates, a checkpoint every 10.
std::string write_base_config(const TempDir& dir, const std::string& corpus);

// Spec "tiny": the base over model.decoder rnn / bahdanau, seeds 1 and 2, "attention helps"
// (bahdanau > rnn on BLEU); `extra` merges over it.
std::string write_spec(const TempDir& dir, const std::string& base, Json extra = Json::object());

// Runner options for `spec` into `out`: two jobs of one thread, the build's seqlab running the
// cells, no progress bar.
RunnerOptions runner_options(const std::string& spec, const std::string& out);

}  // namespace seqlab::testing
