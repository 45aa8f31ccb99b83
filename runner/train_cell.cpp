// Cell kind "train": trains a config (the spec's base with the grid point's overrides) and
// evaluates it; the cell's directory is also its run directory.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/trust.h"
#include "runner/cell.h"
#include "runner/cell_kind.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

// The headline numbers of one evaluate_run object (and its source-length buckets) as store rows.
void add_evaluations(const Json& evaluation, std::vector<EvaluationRow>& out) {
  const std::string split = evaluation.at("split");
  const int64_t beam = evaluation.at("beam");
  for (const char* metric :
       {"bleu", "chrf", "exact_match", "sentences_per_s", "cider", "bleu_1", "bleu_2", "bleu_3",
        "bleu_4", "images_per_s", "accuracy", "macro_f1", "perplexity", "unigram_perplexity",
        "bigram_perplexity", "bigram_accuracy"})
    if (evaluation.contains(metric))
      out.push_back({split, beam, metric, "", evaluation[metric].get<double>(),
                     evaluation.value(std::string(metric) + "_signature", "")});
  for (const auto& item : evaluation.items())
    if (item.key().find("_beam") != std::string::npos && item.value().is_number())
      out.push_back({split, beam, item.key(), "", item.value().get<double>(), ""});
  if (evaluation.contains("attention_grounding")) {
    const Json& g = evaluation["attention_grounding"];
    out.push_back({split, beam, "grounding_mass", "", 100.0 * g["mass_in_box"].get<double>(), ""});
    out.push_back({split, beam, "grounding_argmax", "", g["argmax_in_box"].get<double>(), ""});
  }
  for (const auto& bucket : evaluation.value("bleu_by_source_length", Json::array())) {
    out.push_back({split, beam, "bleu", bucket["words"].get<std::string>(),
                   bucket["bleu"].get<double>(), evaluation.value("bleu_signature", "")});
    out.push_back({split, beam, "sentences", bucket["words"].get<std::string>(),
                   bucket["sentences"].get<double>(), ""});
  }
}

class TrainCell : public CellKind {
 public:
  CellKindReport report() const override {
    CellKindReport r;
    r.metric = "bleu";
    r.split = "test";
    r.training = true;
    r.buckets = "source length";
    return r;
  }

  void check_spec(ExperimentSpec& spec, const Json& json) const override {
    const bool varied = spec.grid.contains("base") || spec.zip.contains("base");
    if (varied) {
      for (const Json* section : {&spec.grid, &spec.zip})
        if (section->contains("base"))
          for (const auto& b : (*section)["base"]) {
            if (!b.is_string()) throw InputError(spec.path + ": base: expected config paths");
            resolve_base(b.get<std::string>(), spec.path);  // exists
          }
    } else if (!json.contains("base")) {
      throw InputError(spec.path +
                       ": a train spec needs \"base\": the base config (or a grid over \"base\")");
    } else {
      if (!json["base"].is_string()) throw InputError(spec.path + ": base: expected a string");
      spec.base = resolve_base(json["base"].get<std::string>(), spec.path);
    }
  }

  Json resolve(const ExperimentSpec& spec, const Json& overrides, uint64_t seed,
               const std::string& cell_id) const override {
    std::vector<std::string> sets;
    for (const auto& item : spec.set.items())
      sets.push_back(config_assignment(item.key(), item.value()));
    for (const auto& item : overrides.items())
      if (item.key() != "base") sets.push_back(config_assignment(item.key(), item.value()));
    sets.push_back(config_assignment("run.seed", seed));
    // A grid over "base" compares whole presets (the families side by side).
    const std::string base = overrides.contains("base")
                                 ? resolve_base(overrides["base"].get<std::string>(), spec.path)
                                 : spec.base;
    try {
      return Config::from_file(base, sets).resolved();
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: cell {}: {}", spec.path, cell_id, e.what()));
    }
  }

  std::vector<std::string> corpora(const Json& config) const override {
    return {config.at("data").at("corpus").get<std::string>()};
  }

  std::vector<std::string> command(const std::string& executable, const Json&,
                                   const std::string& dir, int threads, int nproc) const override {
    std::vector<std::string> argv{executable, "cell",      "--dir",
                                  dir,        "--threads", std::to_string(threads)};
    if (nproc > 1) argv.insert(argv.end(), {"--nproc", std::to_string(nproc)});
    if (CodeTrust::granted()) argv.push_back("--trust-code");  // the user's own switch, passed on
    return argv;
  }

  void import(const std::string& dir, const Json& result, RunResult& out) const override {
    const Json& train = result.at("train");
    out.steps = train.value("steps", int64_t(0));
    out.train_seconds = train.value("seconds", 0.0);
    for (const auto& e : result.at("evaluations")) add_evaluations(e, out.evaluations);
    for (const auto& record : read_json_lines(dir + "/metrics.jsonl")) {
      const std::string event = record.value("event", "");
      if (event == "start") out.parameters = record.value("parameters", int64_t(0));
      if (event != "train" && event != "valid" && event != "fit") continue;
      const int64_t step = record.value("step", int64_t(0));
      const std::string split = event == "valid" ? "valid" : "train";
      for (const auto& item : record.items())
        if (item.value().is_number() && item.key() != "step" && item.key() != "time" &&
            item.key() != "epoch")
          out.metrics.push_back({step, split, item.key(), item.value().get<double>()});
    }
  }
};

const bool added =
    add_cell_kind<TrainCell>("train", "train the base config with the grid's overrides, evaluate");

}  // namespace

Json run_train_cell(const std::string& dir, int threads, const DistributedOptions& distributed) {
  const std::string cell_path = dir + "/cell.json";
  Json cell = read_json_file(cell_path);
  if (!cell.contains("config") || !cell["config"].is_object())
    throw InputError(cell_path + ": expected an object with a 'config' object");
  std::vector<std::string> sets{fmt::format("run.threads={}", threads)};
  if (distributed.active()) {
    // The grid's experiment, only faster: the cell's batch is split among the processes (each
    // takes 1/N of the budget, so the global batch is the one-process cell's).
    Config asked = Config::from_json(cell.at("config"), {}, dir + "/cell.json");
    const int64_t n = distributed.world_size;
    sets.push_back(fmt::format("train.batch_tokens={}",
                               std::max<int64_t>(1, asked.get_int("train.batch_tokens") / n)));
    if (asked.get_int("train.batch_sentences") > 0)
      sets.push_back(fmt::format("train.batch_sentences={}",
                                 std::max<int64_t>(1, asked.get_int("train.batch_sentences") / n)));
  }
  Config config = Config::from_json(cell.at("config"), sets, dir + "/cell.json");
  const bool resume = fs::exists(dir + "/" + kCheckpointFile);
  TrainResult trained = train_model(config, dir, resume, distributed);
  if (!distributed.is_main()) return Json::object();  // rank 0 evaluates and writes the result
  Json evaluations = Json::array();
  const Json& e = cell.at("evaluate");
  for (const auto& split : e.at("splits")) {
    EvaluateOptions options;
    options.split = split.get<std::string>();
    options.beam = e.value("beam", int64_t(0));
    options.length_edges = e.value("length_buckets", std::vector<size_t>{10, 20, 30, 40});
    options.attention_maps =
        split == e.at("splits").back() ? e.value("attention_maps", int64_t(0)) : 0;
    evaluations.push_back(evaluate_run(dir, options));
    // Other beam widths: the same split again, its headline numbers as <metric>_beam<N>.
    for (int64_t beam : e.value("beams", std::vector<int64_t>{})) {
      EvaluateOptions other = options;
      other.beam = beam;
      other.attention_maps = 0;
      other.grounding_images = 0;
      Json extra = evaluate_run(dir, other);
      Json& main = evaluations.back();
      for (const char* metric : {"bleu", "chrf", "cider", "bleu_4", "exact_match"})
        if (extra.contains(metric)) main[fmt::format("{}_beam{}", metric, beam)] = extra[metric];
    }
  }
  Json result = {{"train", trained.to_json()}, {"evaluations", evaluations}};
  write_file_atomic(dir + "/result.json", result.dump(2) + "\n");
  return result;
}

}  // namespace seqlab
