// Cell kind "reservoir": one `seqlab reservoir mackey-glass --json` forecasting comparison; grid
// keys are reservoir.* arguments, and a cell without a reservoir.seed takes the cell's seed.
#include "runner/cell_kind.h"

namespace seqlab {
namespace {

class ReservoirCell : public CellKind {
 public:
  CellKindReport report() const override {
    CellKindReport r;
    r.metric = "nrmse";
    r.split = "series";
    r.log_bars = true;  // errors span decades between models
    return r;           // buckets are the models compared in the cell, not lengths
  }

  std::string arguments_section() const override { return "reservoir"; }
  std::vector<std::string> argument_keys() const override {
    return {"units",
            "horizon",
            "trials",
            "gru_trials",
            "gru_updates",
            "models",
            "train_steps",
            "washout",
            "spectral_radius",
            "connectivity",
            "feedback_scaling",
            "input_scaling",
            "noise",
            "ridge",
            "seed"};
  }

  Json resolve(const ExperimentSpec& spec, const Json& overrides, uint64_t seed,
               const std::string&) const override {
    Json args = command_arguments(*this, spec, overrides, nullptr);
    if (!args.contains("seed")) args["seed"] = seed;
    return args;
  }

  std::vector<std::string> command(const std::string& executable, const Json& cell,
                                   const std::string&, int threads, int) const override {
    std::vector<std::string> argv = {executable, "reservoir", "mackey-glass",
                                     "--json",   "--threads", std::to_string(threads)};
    for (const auto& item : cell.at("config").items()) append_flag(item.key(), item.value(), argv);
    return argv;
  }

  std::string collect(const std::string& dir) const override { return result_from_stdout(dir); }

  void import(const std::string&, const Json& result, RunResult& out) const override {
    const auto& models = result.at("models");
    for (const auto& m : models) {
      const std::string model = m.at("model");
      for (const auto& item : m.items())
        if (item.value().is_number()) {
          out.evaluations.push_back(
              {"series", 0, item.key(), model, item.value().get<double>(), "mackey-glass"});
          if (models.size() == 1)  // the cell's headline is its one model's
            out.evaluations.push_back(
                {"series", 0, item.key(), "", item.value().get<double>(), "mackey-glass"});
        }
    }
  }
};

const bool added = add_cell_kind<ReservoirCell>(
    "reservoir",
    "`seqlab reservoir mackey-glass`: forecasting error of ESN and GRU models (reservoir.*)");

}  // namespace
}  // namespace seqlab
