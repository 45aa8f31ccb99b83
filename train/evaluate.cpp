#include "train/evaluate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <torch/torch.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/runtime.h"
#include "data/recipe.h"
#include "data/task.h"
#include "eval/attention_map.h"
#include "eval/caption.h"
#include "eval/classify.h"
#include "eval/length_buckets.h"
#include "eval/metric.h"
#include "eval/next_token.h"
#include "eval/significance.h"
#include "eval/translate.h"
#include "train/run_directory.h"

namespace seqlab {

namespace {

// Keeps an evaluation's item statistics beside its hypotheses (RUN/<split>.beam<N>.items.json)
// and names the file in its result.
void keep_item_statistics(const ItemStatisticsFile& items, const LoadedRun& run,
                          const std::string& run_dir, const std::string& split, int64_t beam,
                          Json& result) {
  const std::string path = item_statistics_path(run_dir, split, beam, run.file_variant);
  write_item_statistics(path, items);
  result["item_statistics"] = path;
}

// Where attention looks, for corpora that say where each named thing is (<split>.regions.json:
// {image file: [{"word", "box": [x0, y0, x1, y1] as fractions}]}, e.g. fashion-scenes): for each
// generated word that names a region, the attention mass on grid cells whose centre lies in its
// box, and whether the most attended cell does.
Json attention_grounding(LoadedRun& run, const std::vector<std::string>& sources,
                         const torch::Tensor& pixels, const Json& regions,
                         const SearchOptions& search, size_t limit) {
  double mass = 0;
  int64_t words = 0, hits = 0, images = 0;
  for (size_t i = 0; i < sources.size() && i < limit; ++i) {
    auto boxes = regions.find(std::filesystem::path(sources[i]).filename().string());
    if (boxes == regions.end()) continue;
    ImageAttention attention =
        image_attention(run.model, *run.tokenizer, run.device, search,
                        run.config.get_string("model.decoder"), pixels[static_cast<int64_t>(i)]);
    ++images;
    const int64_t gh = attention.weights.size(1), gw = attention.weights.size(2);
    // Cell centres as fractions of the image, [gh, 1] and [1, gw].
    auto cy = ((torch::arange(gh, torch::kDouble) + 0.5) / double(gh)).unsqueeze(1);
    auto cx = ((torch::arange(gw, torch::kDouble) + 0.5) / double(gw)).unsqueeze(0);
    std::vector<bool> used(attention.tokens.size(), false);
    for (const auto& region : *boxes) {
      const std::string word = region.at("word");
      auto box = region.at("box").get<std::vector<double>>();
      for (size_t t = 0; t < attention.tokens.size(); ++t) {
        if (used[t] || attention.tokens[t] != word) continue;
        used[t] = true;
        auto map =
            attention.weights[static_cast<int64_t>(t)].to(torch::kDouble).flatten();  // [gh * gw]
        auto inside = ((cx >= box[0]) & (cx < box[2]) & (cy >= box[1]) & (cy < box[3])).flatten();
        mass += (map * inside).sum().item<double>();
        hits += inside[map.argmax().item<int64_t>()].item<bool>();
        ++words;
        break;
      }
    }
  }
  return {{"images", images},
          {"words", words},
          {"mass_in_box", words ? mass / double(words) : 0.0},
          {"argmax_in_box", words ? 100.0 * double(hits) / double(words) : 0.0}};
}

// Captioning: each test image once, captioned and scored against all its captions.
Json evaluate_captions(LoadedRun& run, const std::string& run_dir, const Task& task,
                       const EvaluateOptions& options) {
  ReferenceSet references = group_references(task.read_split(options.split));
  ImageSet images;
  auto rows = image_rows(references.sources, ImageOptions::from_config(run.config), images);
  // Images skipped as bad (data.skip_bad_images) are left out of the score, and counted.
  std::vector<std::string> sources;
  std::vector<std::vector<std::string>> kept(references.references.size());
  std::vector<int64_t> take;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0) continue;
    take.push_back(rows[i]);
    sources.push_back(references.sources[i]);
    for (size_t k = 0; k < kept.size(); ++k) kept[k].push_back(references.references[k][i]);
  }
  if (take.empty()) throw InputError("no readable image in the " + options.split + " split");
  auto pixels = images.pixels.index_select(0, torch::tensor(take, torch::kInt64));
  SearchOptions search = search_options(run.config);
  if (options.beam > 0) search.beam = options.beam;
  const auto start = std::chrono::steady_clock::now();
  auto hypotheses = caption_images(run.model, *run.tokenizer, run.device, pixels, search);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text;
  for (size_t i = 0; i < hypotheses.size(); ++i) text += sources[i] + "\t" + hypotheses[i] + "\n";
  std::string hyp_path =
      fmt::format("{}/{}.beam{}{}.hyp", run_dir, options.split, search.beam, run.file_variant);
  write_file_atomic(hyp_path, text);
  Json result = {{"run", run_dir},
                 {"split", options.split},
                 {"beam", search.beam},
                 {"hypotheses", hyp_path},
                 {"task", task.name()}};
  std::vector<double> exact_matches;  // per caption, as score_captions counts them
  merge_json(result, score_captions(hypotheses, kept, &exact_matches));
  {
    ItemStatisticsFile items = compute_item_statistics(
        {"cider", "bleu-1", "bleu-2", "bleu-3", "bleu-4"}, hypotheses, kept);
    for (double e : exact_matches) items.metrics["exact_match"].push_back({e, 1.0});
    keep_item_statistics(items, run, run_dir, options.split, search.beam, result);
  }
  result["skipped_images"] = images.skipped.size();
  result["decode_seconds"] = seconds;
  result["images_per_s"] = double(hypotheses.size()) / std::max(1e-9, seconds);
  const auto regions_path =
      std::filesystem::path(corpus_directory(run.config.get_string("data.corpus"))) /
      (options.split + ".regions.json");
  if (options.grounding_images > 0 && std::filesystem::exists(regions_path)) {
    try {
      const std::string regions_file = regions_path.string();
      const Json regions = read_json_file(regions_file);
      result["attention_grounding"] = with_json_context(regions_file, [&] {
        return attention_grounding(run, sources, pixels, regions, search, options.grounding_images);
      });
    } catch (const InputError& e) {  // a model without attention over regions
      result["attention_grounding_note"] = e.what();
    }
  }
  if (options.attention_maps > 0) {
    Json maps = Json::array();
    const auto n = std::min<size_t>(static_cast<size_t>(options.attention_maps), sources.size());
    for (size_t i = 0; i < n; ++i) {
      try {
        maps.push_back(write_image_attention_map(
            run.model, *run.tokenizer, run.device, search, run.config.get_string("model.decoder"),
            pixels[static_cast<int64_t>(i)],
            fmt::format("{}/attention/{}-{:03}.png", run_dir, options.split, i + 1))["png"]);
      } catch (const InputError& e) {
        result["attention_maps_note"] = e.what();
        break;
      }
    }
    result["attention_maps"] = maps;
  }
  return result;
}

// Classification: every sentence of the split labelled, accuracy, macro-F1 and the confusion
// matrix; RUN/<split>.labels holds LABEL<TAB>probability per sentence.
Json evaluate_classification(LoadedRun& run, const std::string& run_dir, Task& task,
                             const EvaluateOptions& options) {
  task.set_labels(run.labels);
  auto pairs = task.read_split(options.split);
  std::vector<std::string> sentences, gold;
  for (const auto& p : pairs) {
    sentences.push_back(p.source);
    gold.push_back(p.target);
  }
  const auto start = std::chrono::steady_clock::now();
  auto predictions = classify_sentences(run.model, *run.tokenizer, run.device,
                                        static_cast<int64_t>(run.labels.size()), sentences);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> predicted;
  std::string text;
  for (const auto& p : predictions) {
    predicted.push_back(p.label < 0 ? "" : run.labels[size_t(p.label)]);
    text += p.label < 0 ? "\n" : fmt::format("{}\t{:.4f}\n", predicted.back(), p.probability);
  }
  const std::string path = fmt::format("{}/{}{}.labels", run_dir, options.split, run.file_variant);
  write_file_atomic(path, text);
  Json result = {{"run", run_dir},
                 {"split", options.split},
                 {"beam", 1},
                 {"predictions", path},
                 {"task", task.name()}};
  merge_json(result, score_classification(predicted, gold, run.labels));
  keep_item_statistics(compute_item_statistics({"accuracy", "macro_f1"}, predicted, {gold}), run,
                       run_dir, options.split, 1, result);
  result["decode_seconds"] = seconds;
  result["sentences_per_s"] = double(sentences.size()) / std::max(1e-9, seconds);
  return result;
}

// Sequence task (next-token models): teacher-forced loss, perplexity and next-token accuracy on the
// split, beside unigram and bigram baselines fitted on the training split.
Json evaluate_sequence(LoadedRun& run, const std::string& run_dir, Task& task,
                       const EvaluateOptions& options) {
  const TaskSplit split =
      task.encode(task.read_split(options.split), *run.tokenizer, /*training=*/false);
  const auto& examples = split.examples;
  auto train = task.encode(task.read_split("train"), *run.tokenizer, /*training=*/true).examples;
  const auto start = std::chrono::steady_clock::now();
  Json result = {{"run", run_dir}, {"split", options.split}, {"beam", 1}, {"task", task.name()}};
  std::vector<NextTokenCounts> counts;
  merge_json(result, score_next_tokens(run.model, examples, run.device, 4000, &counts));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  {  // per-sequence statistics: perplexity [nll, tokens], next-token accuracy [right, tokens]
    std::vector<std::string> targets;
    for (const auto& p : split.pairs) targets.push_back(p.target);
    ItemStatisticsFile items;
    items.items = static_cast<int64_t>(counts.size());
    items.references_sha256 = references_digest({targets});
    for (const auto& c : counts) {
      items.metrics["perplexity"].push_back({c.nll, double(c.tokens)});
      items.metrics["accuracy"].push_back({double(c.right), double(c.tokens)});
    }
    keep_item_statistics(items, run, run_dir, options.split, 1, result);
  }
  merge_json(result, ngram_baselines(train, examples, run.tokenizer->vocab_size()));
  result["sequences"] = examples.size();
  result["tokens_per_s"] = result["tokens"].get<double>() / std::max(1e-9, seconds);
  return result;
}

Json evaluate_translation(LoadedRun& run, const std::string& run_dir, Task& task,
                          const EvaluateOptions& options) {
  use_shortlist(run, options.shortlist);
  auto pairs = task.read_split(options.split);
  std::vector<std::string> sources, references;
  for (const auto& p : pairs) {
    sources.push_back(p.source);
    references.push_back(p.target);
  }
  SearchOptions search = search_options(run.config);
  if (options.beam > 0) search.beam = options.beam;
  const auto start = std::chrono::steady_clock::now();
  auto hypotheses = translate_sentences(run, sources, search);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text;
  for (const auto& h : hypotheses) text += h + "\n";
  std::string hyp_path =
      fmt::format("{}/{}.beam{}{}.hyp", run_dir, options.split, search.beam, run.file_variant);
  write_file_atomic(hyp_path, text);
  Json result = {{"run", run_dir},
                 {"split", options.split},
                 {"beam", search.beam},
                 {"hypotheses", hyp_path},
                 {"shortlist", run.shortlist ? run.shortlist->per_source() : 0}};
  merge_json(result, score_translations(sources, hypotheses, references));
  {
    ItemStatisticsFile items =
        compute_item_statistics({"bleu", "chrf", "exact_match"}, hypotheses, {references});
    for (const auto& source : sources)
      items.source_words.push_back(static_cast<int64_t>(split_whitespace(source).size()));
    keep_item_statistics(items, run, run_dir, options.split, search.beam, result);
  }
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
        maps.push_back(write_attention_map(
            run.model, *run.tokenizer, run.device, search, run.config.get_string("model.decoder"),
            sources[i],
            fmt::format("{}/attention/{}-{:03}.png", run_dir, options.split, i + 1))["png"]);
      } catch (const InputError& e) {  // a model without attention has no map to draw
        result["attention_maps_note"] = e.what();
        break;
      }
    }
    result["attention_maps"] = maps;
  }
  return result;
}

Json evaluate_task(LoadedRun& run, const std::string& run_dir, Task& task,
                   const EvaluateOptions& options) {
  if (task.reads_images()) return evaluate_captions(run, run_dir, task, options);
  if (task.has_labels()) return evaluate_classification(run, run_dir, task, options);
  if (task.name() == "sequence") return evaluate_sequence(run, run_dir, task, options);
  return evaluate_translation(run, run_dir, task, options);
}

}  // namespace

Json evaluate_run(const std::string& run_dir, const EvaluateOptions& options) {
  LoadedRun run = load_run(run_dir, options.device);
  if (!options.precision.empty()) use_precision(run, options.precision);
  configure_threads(static_cast<int>(run.config.get_int("run.threads")));
  auto task = make_task(run.config);
  Json result = evaluate_task(run, run_dir, *task, options);
  result["precision"] = run.config.get_string("eval.precision");
  return result;
}

}  // namespace seqlab
