// The kinds of cell an experiment spec runs ("kind": "train" | "bench" | "reservoir"), registered
// like every other component. A kind validates its own part of a spec, turns a grid point into
// what its process needs, names the command that runs it, imports the result into the store and
// says how the report shows it. Adding a kind is one file:
//
//   // runner/forecast_cell.cpp
//   class ForecastCell : public CellKind { ... };
//   static const bool added = add_cell_kind<ForecastCell>("forecast", "one line of help");
//
// plus its test. `seqlab list cell-kinds` lists them.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/registry.h"
#include "runner/spec.h"
#include "runner/store.h"

namespace seqlab {

// How the report presents a kind's cells.
struct CellKindReport {
  std::string metric, split;  // the headline when the spec's "report" names none
  // Parameters, training time, steps and decode speed columns, and validation-loss curves.
  bool training = false;
  bool bars = true;       // a bar chart of the headline per cell
  bool log_bars = false;  // on a log axis when every mean is positive
  // What an evaluation's buckets are: "source length" (translation buckets as categories),
  // "sequence length" (numbers on a log axis, one line per cell without its length key, and peak
  // memory against length) or "" (buckets that are not lengths: no figure).
  std::string buckets;
  // With "sequence length" buckets: the grid key that sets the length (the x axis, not a line).
  std::string length_key;
};

class CellKind {
 public:
  virtual ~CellKind() = default;

  virtual CellKindReport report() const = 0;

  // The spec section that holds this kind's arguments ("bench": {...}) and its valid keys, which
  // grid keys name as <section>.<key>; "" for a kind without arguments.
  virtual std::string arguments_section() const { return ""; }
  virtual std::vector<std::string> argument_keys() const { return {}; }

  // Checks what this kind needs of a spec once the common fields are read (a train spec's base
  // config); InputError naming the spec file otherwise.
  virtual void check_spec(ExperimentSpec& spec, const Json& json) const;

  // What the cell's process gets for one grid point and seed: the resolved config (train) or the
  // command's arguments. InputError naming the spec and the cell on a bad key.
  virtual Json resolve(const ExperimentSpec& spec, const Json& overrides, uint64_t seed,
                       const std::string& cell_id) const = 0;

  // Corpora a cell reads, which the runner prepares before any cell starts.
  virtual std::vector<std::string> corpora(const Json& config) const;

  // The command line that runs the cell in `dir` (cell.json there) in a child process. `nproc` >
  // 1 asks for that many data-parallel processes sharing `threads` (kinds that cannot ignore it).
  virtual std::vector<std::string> command(const std::string& executable, const Json& cell,
                                           const std::string& dir, int threads,
                                           int nproc) const = 0;

  // After the child exited with status 0: makes sure dir/result.json holds the result (a kind
  // whose command prints it writes it here); returns why not, or "".
  virtual std::string collect(const std::string& dir) const;

  // result.json (and whatever else the cell left in `dir`) as the store's rows.
  virtual void import(const std::string& dir, const Json& result, RunResult& out) const = 0;
};

SEQLAB_DECLARE_REGISTRY(cell_kind_registry, const CellKind*);

// The registered kind; InputError listing the kinds for an unknown name.
const CellKind& cell_kind(const std::string& name);
std::vector<std::string> cell_kind_names();

template <typename Kind>
bool add_cell_kind(const std::string& name, const std::string& help) {
  return cell_kind_registry().add(
      name,
      []() -> const CellKind* {
        static const Kind kind;
        return &kind;
      },
      help);
}

// Helpers for kinds whose cell runs a seqlab command with --json.

// The command's arguments from the spec's section, set and overrides: <section>.<key> keys become
// arguments (checked against argument_keys()); `other` gets the remaining keys as key=value
// assignments, or an InputError says the kind takes none when `other` is null.
Json command_arguments(const CellKind& kind, const ExperimentSpec& spec, const Json& overrides,
                       Json* other);
// A JSON argument as a command-line value: strings bare, lists comma-joined, others as JSON.
std::string argument_text(const Json& value);
// Appends "--flag value" with the argument's underscores as dashes.
void append_flag(const std::string& argument, const Json& value, std::vector<std::string>& argv);
// The command's --json object is its last line of stdout.txt: written to result.json.
std::string result_from_stdout(const std::string& dir);

}  // namespace seqlab
