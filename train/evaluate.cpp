#include "train/evaluate.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/runtime.h"
#include "data/recipe.h"
#include "eval/attention_map.h"
#include "eval/length_buckets.h"
#include "eval/translate.h"
#include "train/run_directory.h"

namespace seqlab {

Json evaluate_run(const std::string& run_dir, const EvaluateOptions& options) {
  LoadedRun run = load_run(run_dir, options.device);
  configure_threads(static_cast<int>(run.config.get_int("run.threads")));
  auto pairs = load_corpus_split(run.config.get_string("data.corpus"), options.split);
  std::vector<std::string> sources, references;
  for (const auto& p : pairs) {
    sources.push_back(p.source);
    references.push_back(p.target);
  }
  SearchOptions search = search_options(run.config);
  if (options.beam > 0) search.beam = options.beam;
  const auto start = std::chrono::steady_clock::now();
  auto hypotheses = translate_sentences(run, sources, search);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text;
  for (const auto& h : hypotheses) text += h + "\n";
  std::string hyp_path = fmt::format("{}/{}.beam{}.hyp", run_dir, options.split, search.beam);
  write_file_atomic(hyp_path, text);
  Json result = {{"run", run_dir}, {"split", options.split}, {"beam", search.beam}, {"hypotheses", hyp_path}};
  merge_json(result, score_translations(sources, hypotheses, references));
  result["decode_seconds"] = seconds;
  result["sentences_per_s"] = double(sources.size()) / std::max(1e-9, seconds);
  result["bleu_by_source_length"] =
      to_json(bleu_by_source_length(sources, hypotheses, references, options.length_edges));
  if (options.attention_maps > 0) {
    Json maps = Json::array();
    const auto n = std::min<size_t>(static_cast<size_t>(options.attention_maps), sources.size());
    for (size_t i = 0; i < n; ++i) {
      if (sources[i].empty()) continue;
      try {
        maps.push_back(write_attention_map(run.model, *run.tokenizer, run.device, search,
                                           run.config.get_string("model.decoder"), sources[i],
                                           fmt::format("{}/attention/{}-{:03}.png", run_dir,
                                                       options.split, i + 1))["png"]);
      } catch (const InputError& e) {  // a model without attention has no map to draw
        result["attention_maps_note"] = e.what();
        break;
      }
    }
    result["attention_maps"] = maps;
  }
  return result;
}

}  // namespace seqlab
