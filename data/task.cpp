#include "data/task.h"

#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/captions.h"
#include "data/recipe.h"

namespace seqlab {

SEQLAB_DEFINE_REGISTRY(task_registry, "tasks");

namespace {

const bool declared =
    ConfigSchema::global().add(
        key_string("data.task", "translation", "what the corpus holds").names_from([] {
          return task_registry().names();
        })) &&
    ConfigSchema::global().add(
        key_string("data.image_dir", "",
                   "captioning: folder the corpus's image names are relative "
                   "to; empty = <corpus>/images, else the corpus folder")) &&
    ConfigSchema::global().add(
        key_bool("data.skip_bad_lines", false,
                 "translation: skip malformed corpus lines (no tab, an empty side, bad UTF-8), "
                 "naming the first few by file:line and counting the rest, instead of stopping "
                 "at the first"));

class TranslationTask : public Task {
 public:
  explicit TranslationTask(const Config& config)
      : corpus_(config.get_string("data.corpus")),
        max_length_(config.get_int("data.max_length")),
        skip_bad_lines_(config.get_bool("data.skip_bad_lines")) {}
  std::string name() const override { return "translation"; }
  std::vector<SentencePair> read_split(const std::string& split) const override {
    if (!skip_bad_lines_) return load_corpus_split(corpus_, split);
    BadLines bad;
    auto pairs = load_corpus_split(corpus_, split, &bad);
    if (bad.count > 0) log_warning(bad.summary());
    return pairs;
  }
  std::vector<std::string> tokenizer_texts(const std::vector<SentencePair>& pairs) const override {
    std::vector<std::string> texts;
    texts.reserve(2 * pairs.size());
    for (const auto& p : pairs) {
      texts.push_back(p.source);
      texts.push_back(p.target);
    }
    return texts;
  }
  TaskSplit encode(const std::vector<SentencePair>& pairs, const Tokenizer& tokenizer,
                   bool training) const override {
    TaskSplit split;
    const auto limit = static_cast<size_t>(max_length_);
    for (const auto& pair : pairs) {
      Example example{tokenizer.encode(pair.source), tokenizer.encode(pair.target)};
      if (training && (example.source.empty() || example.source.size() > limit ||
                       example.target.size() > limit))
        continue;
      split.examples.push_back(std::move(example));
      split.pairs.push_back(pair);
    }
    return split;
  }

 private:
  std::string corpus_;
  int64_t max_length_;
  bool skip_bad_lines_;
};

class CaptioningTask : public Task {
 public:
  explicit CaptioningTask(const Config& config)
      : corpus_(config.get_string("data.corpus")),
        image_dir_(config.get_string("data.image_dir")),
        max_length_(config.get_int("data.max_length")),
        images_(ImageOptions::from_config(config)),
        streaming_(config.get_bool("data.streaming")) {}
  std::string name() const override { return "captioning"; }
  bool reads_images() const override { return true; }
  std::vector<SentencePair> read_split(const std::string& split) const override {
    return load_caption_split(corpus_, split, image_dir_);
  }
  std::vector<std::string> tokenizer_texts(const std::vector<SentencePair>& pairs) const override {
    return pair_sides(pairs, /*source=*/false);  // the captions
  }
  TaskSplit encode(const std::vector<SentencePair>& pairs, const Tokenizer& tokenizer,
                   bool training) const override {
    std::vector<SentencePair> kept;
    std::vector<std::vector<int64_t>> targets;
    for (const auto& pair : pairs) {
      auto ids = tokenizer.encode(pair.target);
      if (training && static_cast<int64_t>(ids.size()) > max_length_) continue;
      kept.push_back(pair);
      targets.push_back(std::move(ids));
    }
    std::vector<std::string> paths;
    paths.reserve(kept.size());
    for (const auto& pair : kept) paths.push_back(pair.source);
    if (training && streaming_) {  // rows of the distinct paths; pixels decoded on demand
      TaskSplit split;
      std::unordered_map<std::string, int64_t> row;
      for (size_t i = 0; i < kept.size(); ++i) {
        auto [it, inserted] = row.emplace(paths[i], static_cast<int64_t>(split.image_paths.size()));
        if (inserted) split.image_paths.push_back(paths[i]);
        Example example;
        example.target = std::move(targets[i]);
        example.image = it->second;
        split.examples.push_back(std::move(example));
        split.pairs.push_back(kept[i]);
      }
      return split;
    }
    ImageSet set;
    auto rows = image_rows(paths, images_, set);
    TaskSplit split;
    for (size_t i = 0; i < kept.size(); ++i) {
      if (rows[i] < 0) continue;
      Example example;
      example.target = std::move(targets[i]);
      example.image = rows[i];
      split.examples.push_back(std::move(example));
      split.pairs.push_back(kept[i]);
    }
    split.images = set.pixels;
    split.skipped = set.skipped;
    if (!set.skipped.empty())
      log_warning(fmt::format("skipped {} bad image(s) (data.skip_bad_images); the first: {}",
                              set.skipped.size(), set.skipped.front()));
    return split;
  }

 private:
  std::string corpus_, image_dir_;
  int64_t max_length_;
  ImageOptions images_;
  bool streaming_;
};

const bool registered = task_registry().add(
                            "translation",
                            [](const Config& c) -> std::unique_ptr<Task> {
                              return std::make_unique<TranslationTask>(c);
                            },
                            "sentence pairs (TSV): one reference per source") &&
                        task_registry().add(
                            "captioning",
                            [](const Config& c) -> std::unique_ptr<Task> {
                              return std::make_unique<CaptioningTask>(c);
                            },
                            "images with captions (TSV, COCO JSON or Flickr8k files): all captions "
                            "of an image are references");

}  // namespace

ReferenceSet group_references(const std::vector<SentencePair>& pairs) {
  ReferenceSet set;
  std::unordered_map<std::string, size_t> row_of;
  std::vector<std::vector<std::string>> per_source;
  for (const auto& pair : pairs) {
    auto [it, inserted] = row_of.emplace(pair.source, set.sources.size());
    if (inserted) {
      set.sources.push_back(pair.source);
      per_source.emplace_back();
    }
    per_source[it->second].push_back(pair.target);
  }
  size_t most = 1;
  for (const auto& refs : per_source) most = std::max(most, refs.size());
  set.references.assign(most, std::vector<std::string>(set.sources.size()));
  for (size_t i = 0; i < per_source.size(); ++i)
    for (size_t k = 0; k < per_source[i].size(); ++k) set.references[k][i] = per_source[i][k];
  return set;
}

std::vector<std::string> Task::find_labels(const std::vector<SentencePair>&) const { return {}; }

std::vector<std::string> pair_sides(const std::vector<SentencePair>& pairs, bool source) {
  std::vector<std::string> texts;
  texts.reserve(pairs.size());
  for (const auto& p : pairs) texts.push_back(source ? p.source : p.target);
  return texts;
}

int64_t target_vocabulary(int64_t tokenizer_vocab, const std::vector<std::string>& labels) {
  return labels.empty() ? tokenizer_vocab
                        : Tokenizer::kNumSpecial + static_cast<int64_t>(labels.size());
}

std::vector<std::string> read_labels(const std::string& path) {
  Json json;
  try {
    json = Json::parse(read_file(path));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: not JSON ({})", path, e.what()));
  }
  if (!json.is_object() || !json.contains("labels") || !json["labels"].is_array() ||
      json["labels"].empty())
    throw InputError(path + ": expected {\"labels\": [\"name\", ...]} with at least one label");
  std::vector<std::string> labels;
  for (const auto& label : json["labels"]) {
    if (!label.is_string()) throw InputError(path + ": every label must be a string");
    labels.push_back(label.get<std::string>());
  }
  return labels;
}

void write_labels(const std::string& path, const std::vector<std::string>& labels) {
  write_file_atomic(path, Json({{"labels", labels}}).dump(2) + "\n");
}

std::unique_ptr<Task> make_task(const Config& config) {
  return task_registry().create(config.get_string("data.task"), config);
}

std::vector<int64_t> image_rows(const std::vector<std::string>& paths, const ImageOptions& options,
                                ImageSet& set) {
  std::vector<std::string> distinct;
  std::unordered_map<std::string, int64_t> index;
  for (const auto& path : paths)
    if (index.emplace(path, static_cast<int64_t>(distinct.size())).second) distinct.push_back(path);
  set = load_images(distinct, options);
  std::unordered_map<std::string, int64_t> row;
  for (size_t i = 0; i < set.paths.size(); ++i) row[set.paths[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> rows;
  rows.reserve(paths.size());
  for (const auto& path : paths) {
    auto it = row.find(path);
    rows.push_back(it == row.end() ? -1 : it->second);
  }
  return rows;
}

}  // namespace seqlab
