// Cell kind "bench": one `seqlab bench WHAT --json` measurement (throughput and memory against
// sequence length); grid keys bench.* are its arguments, any other key a config override (--set).
#include "runner/cell_kind.h"

namespace seqlab {
namespace {

class BenchCell : public CellKind {
 public:
  CellKindReport report() const override {
    CellKindReport r;
    r.metric = "ms_per_step";
    r.split = "bench";
    r.bars = false;  // the length is the x axis: lines, not bars
    r.buckets = "sequence length";
    r.length_key = "bench.length";
    return r;
  }

  std::string arguments_section() const override { return "bench"; }
  std::vector<std::string> argument_keys() const override {
    return {"what", "model", "length", "steps", "sentences", "batch_tokens"};
  }

  Json resolve(const ExperimentSpec& spec, const Json& overrides, uint64_t,
               const std::string&) const override {
    Json sets = Json::array();
    Json args = command_arguments(*this, spec, overrides, &sets);
    args["set"] = sets;
    return args;
  }

  std::vector<std::string> command(const std::string& executable, const Json& cell,
                                   const std::string&, int threads, int) const override {
    const Json& args = cell.at("config");
    std::vector<std::string> argv = {executable, "bench",     args.value("what", "train"),
                                     "--json",   "--threads", std::to_string(threads)};
    for (const auto& item : args.items()) {
      if (item.key() == "what" || item.key() == "set") continue;
      append_flag(item.key() == "length" ? "lengths" : item.key(), item.value(), argv);
    }
    for (const auto& s : args.value("set", Json::array())) {
      argv.push_back("--set");
      argv.push_back(s.get<std::string>());
    }
    return argv;
  }

  std::string collect(const std::string& dir) const override { return result_from_stdout(dir); }

  void import(const std::string&, const Json& result, RunResult& out) const override {
    const std::string what = result.value("benchmark", "bench");
    for (const auto& entry : result.value("by_length", Json::array())) {
      const std::string bucket = std::to_string(entry.at("length").get<int64_t>());
      for (const auto& item : entry.items()) {
        if (item.value().is_number() && item.key() != "length" && item.key() != "sentences")
          out.evaluations.push_back(
              {"bench", 0, item.key(), bucket, item.value().get<double>(), what});
        if (item.value().is_object())  // decode: greedy / beam5 throughput
          for (const auto& m : item.value().items())
            if (m.value().is_number())
              out.evaluations.push_back(
                  {"bench", 0, item.key() + "_" + m.key(), bucket, m.value().get<double>(), what});
      }
      out.evaluations.push_back({"bench", 0, "peak_rss_mib", bucket, out.max_rss_mib, what});
    }
  }
};

const bool added = add_cell_kind<BenchCell>(
    "bench", "`seqlab bench WHAT`: time and memory by sequence length (bench.* arguments)");

}  // namespace
}  // namespace seqlab
