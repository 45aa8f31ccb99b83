// Experiment specs: a base config, a grid of overrides (cartesian and zipped), seeds, what to
// evaluate, and the expected outcome, as one JSON file validated like a config. A spec expands
// into cells; a cell with a seed is one run.
//
//   {
//     "name": "attention-vs-length",            // the store's key for this spec
//     "title": "...", "description": "...",
//     "kind": "train",                           // train (train + evaluate), bench or reservoir
//     "base": "configs/demo.json",               // train: the base config (relative to the spec,
//                                                //   then to the seqlab tree)
//     "set": {"train.max_steps": 600},           // overrides every cell gets
//     "grid": {"model.decoder": ["rnn", "bahdanau"]},           // cartesian product
//     "zip": {"model.encoder": [...], "model.decoder": [...]},  // lists walked together
//     "seeds": [1, 2, 3],                        // or adaptive: {"min": 2, "max": 8, "minutes":
//     60}:
//                                                //   seeds 1..min, then one more at a time for the
//                                                //   cells of relations still undecided (cheapest
//                                                //   cells first) until decided, max, or the
//                                                minutes
//     "evaluate": {"splits": ["test"], "beam": 5, "length_buckets": [10, 20, 30, 40],
//                  "attention_maps": 2},
//     "bench": {"what": "train", "model": "gru", "length": 64, ...},  // kind bench: its arguments
//     "reservoir": {"units": 500, "trials": 10, ...},                  // kind reservoir: its
//     arguments "expect": {"text": "...", "source": "Bahdanau et al. 2015, Fig. 2",
//                "relations": ["bleu(model.decoder=bahdanau) > bleu(model.decoder=rnn) on source
//                length 21-40"]},
//     "report": {"metric": "bleu", "split": "test"},
//     "size": "quick",                           // the default size
//     "sizes": {"quick": {"set": {...}, "seeds": [1]}, "full": {...}}  // merged over the spec
//   }
//
// Grid and zip keys are config keys (train), bench.* / reservoir.* arguments or config keys passed
// on as --set (bench). Unknown keys anywhere are an InputError naming the file, the key and the
// closest valid one.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace seqlab {

// "metric(key=value, ...) OP metric(key=value, ...) [on source length B | on length L] [by M |
// within T]" with OP one of >, < (by at least M, default 0) or ~= (about equal: |difference| <= T).
struct Relation {
  std::string text;  // as written
  std::string metric;
  Json left, right;      // {key: value} selecting cells by their overrides
  std::string op;        // ">", "<", "~="
  std::string bucket;    // "" = the whole split
  double tolerance = 0;  // ~=: the largest difference called equal; > and <: the margin
};

Relation parse_relation(const std::string& text);

struct EvaluationSpec {
  std::vector<std::string> splits = {"test"};
  int64_t beam = 0;            // 0: the config's eval.beam
  std::vector<int64_t> beams;  // also evaluate at these widths (metrics named <metric>_beam<N>)
  std::vector<size_t> length_buckets = {10, 20, 30, 40};
  int64_t attention_maps = 0;
};

struct Cell {
  std::string name;  // from its overrides, e.g. "decoder=bahdanau"; "base" without any
  Json overrides;    // {key: value}, grid then zip order
  uint64_t seed = 1;
  std::string kind;
  Json config;  // train: the resolved config; bench/reservoir: the arguments
  Json evaluate;
  std::string id() const;  // "<name>/seed-<seed>"
  Json to_json() const;    // what the cell's directory records (cell.json)
};

struct ExperimentSpec {
  std::string path, name, title, description, kind = "train", size;
  Json json;  // as resolved (size merged), what the store keeps
  Json set = Json::object(), grid = Json::object(), zip = Json::object();
  std::vector<uint64_t> seeds = {1};
  int64_t max_seeds = 0;  // adaptive seeds: up to this many per cell (0: the seeds list is all)
  double seed_minutes =
      0;  // adaptive seeds: the wall-clock budget of one `seqlab run` for adding them
  EvaluationSpec evaluation;
  Json arguments = Json::object();  // the kind's own section ("bench": {...}), if it has one
  std::string expect_text, expect_source;
  std::vector<Relation> relations;
  std::string report_metric = "bleu", report_split = "test";
  std::string base;  // the base config's path
};

// Reads and validates a spec; `size` empty means the spec's default size.
ExperimentSpec load_spec(const std::string& path, const std::string& size = "");

// Every cell x seed, in a fixed order. Train cells resolve their config (so a bad key in a grid is
// an error before anything runs).
std::vector<Cell> expand_cells(const ExperimentSpec& spec);
// The same cells with other seeds (adaptive seeds: 1..max_seeds).
std::vector<Cell> expand_cells(const ExperimentSpec& spec, const std::vector<uint64_t>& seeds);
// Every seed the spec may run: its list, or with adaptive seeds every seed up to the maximum.
std::vector<uint64_t> every_seed(const ExperimentSpec& spec);

// Top-level keys whose values differ between two resolved specs (for "the spec changed" errors),
// as dotted paths ("grid.model.decoder").
std::vector<std::string> changed_keys(const Json& before, const Json& after);

// "key=value" as Config's --set reads it: strings bare, anything else as JSON.
std::string config_assignment(const std::string& key, const Json& value);

// A base config named in a spec: beside the spec, then in the seqlab tree, then as given;
// InputError when none exists.
std::string resolve_base(const std::string& base, const std::string& spec_path);

}  // namespace seqlab
