#include "runner/cell.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/trust.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

std::string arg_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ",") + arg_text(v);
    return out;
  }
  return value.dump();
}

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

std::vector<std::string> cell_command(const std::string& executable, const Json& cell,
                                      const std::string& dir, int threads, int nproc) {
  const std::string kind = cell.at("kind");
  const Json& args = cell.at("config");
  if (kind == "train") {
    std::vector<std::string> argv{executable, "cell",      "--dir",
                                  dir,        "--threads", std::to_string(threads)};
    if (nproc > 1) argv.insert(argv.end(), {"--nproc", std::to_string(nproc)});
    if (CodeTrust::granted()) argv.push_back("--trust-code");  // the user's own switch, passed on
    return argv;
  }
  std::vector<std::string> argv;
  if (kind == "bench") {
    argv = {executable, "bench",     args.value("what", "train"),
            "--json",   "--threads", std::to_string(threads)};
    for (const auto& item : args.items()) {
      if (item.key() == "what" || item.key() == "set") continue;
      std::string flag = item.key() == "length" ? "lengths" : item.key();
      std::replace(flag.begin(), flag.end(), '_', '-');
      argv.push_back("--" + flag);
      argv.push_back(arg_text(item.value()));
    }
    for (const auto& s : args.value("set", Json::array())) {
      argv.push_back("--set");
      argv.push_back(s.get<std::string>());
    }
  } else if (kind == "reservoir") {
    argv = {executable, "reservoir", "mackey-glass",
            "--json",   "--threads", std::to_string(threads)};
    for (const auto& item : args.items()) {
      std::string flag = item.key();
      std::replace(flag.begin(), flag.end(), '_', '-');
      argv.push_back("--" + flag);
      argv.push_back(arg_text(item.value()));
    }
  } else {
    throw InputError(fmt::format("{}/cell.json: unknown cell kind '{}'", dir, kind));
  }
  return argv;
}

RunResult read_cell_result(const Json& cell, const std::string& dir, int64_t max_rss_kib) {
  // result.json comes from the cell's process; a run folder from elsewhere may hold anything.
  return with_json_context(dir + "/result.json", [&] {
    RunResult out;
    out.max_rss_mib = double(max_rss_kib) / 1024.0;
    Json result = read_json_file(dir + "/result.json");
    const std::string kind = cell.at("kind");
    if (kind == "train") {
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
    } else if (kind == "bench") {
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
                out.evaluations.push_back({"bench", 0, item.key() + "_" + m.key(), bucket,
                                           m.value().get<double>(), what});
        }
        out.evaluations.push_back({"bench", 0, "peak_rss_mib", bucket, out.max_rss_mib, what});
      }
    } else if (kind == "reservoir") {
      const auto& models = result.at("models");
      for (const auto& m : models) {
        const std::string model = m.at("model");
        for (const auto& item : m.items())
          if (item.value().is_number()) {
            out.evaluations.push_back(
                {"series", 0, item.key(), model, item.value().get<double>(), "mackey-glass"});
            if (models.size() == 1)
              out.evaluations.push_back(
                  {"series", 0, item.key(), "", item.value().get<double>(), "mackey-glass"});
          }
      }
    }
    return out;
  });
}

}  // namespace seqlab
