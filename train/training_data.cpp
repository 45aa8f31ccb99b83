#include "train/training_data.h"

#include <malloc.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include <torch/torch.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/log.h"
#include "data/image_store.h"
#include "data/recipe.h"
#include "data/shards.h"
#include "data/task.h"
#include "eval/classify.h"
#include "eval/metric.h"
#include "eval/next_token.h"
#include "eval/search.h"
#include "train/distributed.h"
#include "train/optimizer_step.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_string("data.corpus", "ui-fr",
                            "recipe name (prepared with `seqlab data prepare`) or a directory "
                            "with train.tsv, valid.tsv, test.tsv")) &&
    schema().add(key_string("data.tokenizer", "bpe", "tokenizer kind").names_from([] {
      return tokenizer_registry().names();
    })) &&
    schema().add(key_int("data.vocab_size", 8000, "joint vocabulary size").range(0, 1000000)) &&
    schema().add(key_int("data.max_length", 100,
                         "training pairs with more tokens on either side are skipped")
                     .range(1, 100000)) &&
    schema().add(key_int("data.train_limit", 0, "use only the first N training pairs; 0 = all")
                     .range(0, 1e12)) &&
    schema().add(key_bool(
        "data.streaming", false,
        "read the training split from disk as batches ask for it, for corpora larger than memory: "
        "translation text tokenized once into memory-mapped shards (RUN/shards), captioning "
        "images decoded by the loader's threads (into a disk cache with data.image_disk_cache); "
        "the same batches in the same order as in memory")) &&
    schema().add(key_int("data.shard_lines", 100000,
                         "data.streaming: input lines per shard file (the unit a stopped "
                         "tokenization resumes from)")
                     .range(1, 1e9)) &&
    schema().add(key_int("data.loader_threads", 2,
                         "data.streaming: threads making batches ahead of the trainer")
                     .range(1, 256)) &&
    schema().add(key_int("data.prefetch_batches", 16,
                         "data.streaming: batches the loader holds ready at most")
                     .range(1, 100000)) &&
    schema().add(key_bool("data.image_disk_cache", true,
                          "data.streaming captioning: keep decoded images in a memory-mapped "
                          "uint8 file (RUN/shards/train-images.u8) so each is decoded once")) &&
    schema().add(key_int("data.tokenizer_sample", 1000000,
                         "texts the tokenizer is trained on: a uniform sample (reservoir, seeded "
                         "by run.seed) when the training split has more; 0 = all")
                     .range(0, 1e12));

// What the tokenizer is trained on: `texts`, or a seeded uniform sample of data.tokenizer_sample
// of them (the streaming path feeds the same sequence to the same sampler).
std::unique_ptr<TextSample> tokenizer_sampler(const Config& config) {
  const int64_t cap = config.get_int("data.tokenizer_sample");
  return std::make_unique<TextSample>(cap > 0 ? cap : std::numeric_limits<int64_t>::max(),
                                      static_cast<uint64_t>(config.get_int("run.seed")));
}

std::unique_ptr<Tokenizer> train_run_tokenizer(const Config& config, std::vector<std::string> texts,
                                               const std::string& path) {
  TokenizerOptions options;
  options.vocab_size = config.get_int("data.vocab_size");
  // SentencePiece trains on every text it is given: the sample above is the only one.
  options.max_sentences =
      std::max<int64_t>(options.max_sentences, static_cast<int64_t>(texts.size()));
  auto tokenizer = train_tokenizer(config.get_string("data.tokenizer"), texts, options);
  tokenizer->save(path);
  return tokenizer;
}

// data.streaming for translation: the tokenizer trained on a sample read line by line, the
// training split tokenized into shards (data/shards.h).
void load_streaming_text(const Config& config, const std::string& run_dir, bool resume,
                         TrainingData& data) {
  const std::string corpus = config.get_string("data.corpus");
  const std::string train_path = corpus_split_path(corpus, "train");
  const bool skip_bad = config.get_bool("data.skip_bad_lines");
  const int64_t limit = config.get_int("data.train_limit");
  const std::string tokenizer_path = run_dir + "/tokenizer.json";
  if (resume && fs::exists(tokenizer_path)) {
    data.tokenizer = Tokenizer::load(tokenizer_path);
  } else {
    auto sample = tokenizer_sampler(config);
    BadLines ignored;  // reported by the tokenizing pass below
    int64_t pairs = 0;
    for_each_tsv_pair(
        train_path,
        [&](SentencePair&& pair, int64_t) {
          if (limit > 0 && pairs >= limit) return;
          ++pairs;
          sample->add(std::move(pair.source));
          sample->add(std::move(pair.target));
        },
        skip_bad ? &ignored : nullptr);
    if (sample->seen() > static_cast<int64_t>(config.get_int("data.tokenizer_sample")) &&
        config.get_int("data.tokenizer_sample") > 0)
      log_info(fmt::format("tokenizer trained on {} of {} texts (data.tokenizer_sample, seed {})",
                           config.get_int("data.tokenizer_sample"), sample->seen(),
                           config.get_int("run.seed")));
    data.tokenizer = train_run_tokenizer(config, sample->take(), tokenizer_path);
  }
  ShardBuildOptions options;
  options.pairs_per_shard = config.get_int("data.shard_lines");
  options.threads = std::max(1, at::get_num_threads());
  options.max_length = config.get_int("data.max_length");
  options.limit = limit;
  BadLines bad;
  if (skip_bad) options.bad = &bad;
  data.train_shards = std::make_shared<ShardSet>(build_text_shards(
      train_path, *data.tokenizer, sha256_file_hex(tokenizer_path), run_dir + "/shards", options));
  if (bad.count > 0) log_warning(bad.summary());
  if (data.train_shards->size() == 0) throw InputError("no training pairs within data.max_length");
}

}  // namespace

TrainingData load_training_data(const Config& config, const std::string& run_dir, bool resume) {
  TrainingData data;
  auto task = make_task(config);
  const bool streaming = config.get_bool("data.streaming");
  if (streaming && task->name() != "translation" && task->name() != "captioning")
    throw InputError(fmt::format(
        "data.streaming reads translation corpora (text shards) and captioning corpora (images "
        "on demand); the {} task reads its corpus into memory: set data.streaming false",
        task->name()));
  const bool text_shards = streaming && task->name() == "translation";
  auto valid_pairs = task->read_split("valid");
  std::vector<SentencePair> train_pairs;
  if (text_shards) {
    load_streaming_text(config, run_dir, resume, data);
  } else {
    train_pairs = task->read_split("train");
    if (int64_t limit = config.get_int("data.train_limit");
        limit > 0 && static_cast<size_t>(limit) < train_pairs.size())
      train_pairs.resize(static_cast<size_t>(limit));
    std::string tokenizer_path = run_dir + "/tokenizer.json";
    if (resume && fs::exists(tokenizer_path)) {
      data.tokenizer = Tokenizer::load(tokenizer_path);
    } else {
      auto sample = tokenizer_sampler(config);
      for (auto& text : task->tokenizer_texts(train_pairs)) sample->add(std::move(text));
      data.tokenizer = train_run_tokenizer(config, sample->take(), tokenizer_path);
    }
  }
  if (task->has_labels()) {
    const std::string labels_path = run_dir + "/labels.json";
    if (resume && fs::exists(labels_path)) {
      data.labels = read_labels(labels_path);
    } else {
      data.labels = task->find_labels(train_pairs);
      write_labels(labels_path, data.labels);
    }
    task->set_labels(data.labels);
    data.framing = task->framing();
    valid_pairs = task->read_split("valid");  // now checked against the label set
  }
  data.task = task->name();
  if (!text_shards) {
    TaskSplit train = task->encode(train_pairs, *data.tokenizer, /*training=*/true);
    if (train.examples.empty()) throw InputError("no training pairs within data.max_length");
    data.train = std::move(train.examples);
    data.train_images = train.images;
    if (!train.image_paths.empty())  // streaming captioning: decoded as batches ask
      data.train_image_store = std::make_shared<ImageStore>(
          std::move(train.image_paths), ImageOptions::from_config(config),
          config.get_bool("data.image_disk_cache") ? run_dir + "/shards/train-images.u8" : "");
  }
  TaskSplit valid = task->encode(valid_pairs, *data.tokenizer, /*training=*/false);
  data.valid = std::move(valid.examples);
  data.valid_images = valid.images;
  if (task->reads_images()) {
    // Each image once, scored against all its captions.
    ReferenceSet grouped = group_references(valid.pairs);
    std::map<std::string, int64_t> first;
    for (size_t i = 0; i < valid.pairs.size(); ++i)
      first.emplace(valid.pairs[i].source, static_cast<int64_t>(i));
    for (const auto& source : grouped.sources) data.valid_bleu_examples.push_back(first.at(source));
    data.valid_references = std::move(grouped.references);
  } else {
    data.valid_references.emplace_back();
    for (size_t i = 0; i < valid.pairs.size(); ++i) {
      data.valid_bleu_examples.push_back(static_cast<int64_t>(i));
      data.valid_references[0].push_back(valid.pairs[i].target);
    }
  }
  // Hand what reading needed (the pairs as text, the tokenizer's training) back to the system:
  // glibc keeps freed heap otherwise, and a long run would hold it for nothing.
  malloc_trim(0);
  return data;
}

int64_t TrainingData::train_size() const {
  return train_shards ? train_shards->size() : static_cast<int64_t>(train.size());
}

std::vector<int64_t> TrainingData::train_lengths() const {
  return train_shards ? train_shards->bucket_lengths() : TokenBucketBatcher::bucket_lengths(train);
}

int64_t TrainingData::train_target_tokens(const std::vector<int64_t>& indices) const {
  return train_shards ? train_shards->target_tokens(indices, framing)
                      : count_target_tokens(train, indices, framing);
}

Batch TrainingData::train_batch(const std::vector<int64_t>& indices) const {
  if (train_shards) return train_shards->collate(indices, framing);
  if (!train_image_store) return collate(train, indices, train_images, framing);
  std::vector<int64_t> kept;
  std::vector<torch::Tensor> pixels;
  for (int64_t i : indices) {
    torch::Tensor image = train_image_store->get(train[static_cast<size_t>(i)].image);
    if (!image.defined()) continue;  // bad, skipped under data.skip_bad_images
    kept.push_back(i);
    pixels.push_back(std::move(image));
  }
  if (kept.empty()) return {};
  Batch batch = collate(train, kept, {}, framing);
  batch.images = torch::stack(pixels);
  return batch;
}

int64_t TrainingData::target_vocab() const {
  return target_vocabulary(tokenizer->vocab_size(), labels);
}

Json ValidationScore::scores() const {
  if (next_token) return {{"accuracy", accuracy}, {"perplexity", std::exp(loss)}};
  if (accuracy >= 0) return {{"accuracy", accuracy}};
  Json out = {{"bleu", bleu}};
  if (chrf >= 0) out["chrf"] = chrf;
  if (cider >= 0) out["cider"] = cider;
  return out;
}

double ValidationScore::value(const std::string& metric) const {
  if (metric == "loss") return loss;
  if (metric == "bleu") return bleu;
  if (metric == "chrf") return chrf;
  if (metric == "cider") return cider;
  if (metric == "accuracy") return accuracy;
  throw InputError(fmt::format(
      "unknown early-stopping metric '{}' (valid: loss, bleu, chrf, cider, accuracy)", metric));
}

TrainingData load_training_data(const Config& config, const std::string& run_dir, bool resume,
                                Communicator* communicator) {
  if (!communicator) return load_training_data(config, run_dir, resume);
  TrainingData data;
  if (communicator->rank() == 0) data = load_training_data(config, run_dir, resume);
  communicator->barrier();
  if (communicator->rank() != 0) data = load_training_data(config, run_dir, /*resume=*/true);
  return data;
}

torch::Tensor train_step(Seq2Seq& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                         double smoothing, double clip, int64_t normalizer,
                         GradientReducer* reducer) {
  optimizer.zero_grad();
  if (reducer) reducer->start();
  torch::Tensor loss_sum;
  if (batch.size() > 0) {
    loss_sum = model->loss_sum(Source::of(batch), batch.target_in, batch.target_out, smoothing);
    (loss_sum / static_cast<double>(normalizer > 0 ? normalizer : batch.target_tokens)).backward();
  } else {  // a rank whose slice of the global batch is empty adds nothing
    if (!reducer) throw Error("train_step: empty batch");
    loss_sum = torch::zeros({}, torch::kFloat32);
  }
  if (reducer) reducer->finish();
  clip_and_step(optimizer, model->parameters(), clip);  // fused for AdamW (train/optimizer_step.h)
  return loss_sum.detach();
}

ValidationScore validate_model(Seq2Seq& model, const TrainingData& data, const Config& config,
                               torch::Device device) {
  const int64_t batch_tokens = config.get_int("train.batch_tokens");
  const uint64_t seed = static_cast<uint64_t>(config.get_int("run.seed"));
  model->eval();
  ValidationScore score;
  if (data.task ==
      "sequence") {  // next-token models: loss and argmax accuracy in one pass, no decoding
    Json scored = score_next_tokens(model, data.valid, device, batch_tokens);
    score.loss = scored["loss"].get<double>();
    score.accuracy = scored["accuracy"].get<double>();
    score.next_token = true;
    model->train();
    return score;
  }
  // Classification: every validation sentence labelled (argmax over the labels) in the loss's
  // batches.
  const bool classify = !data.labels.empty();
  double loss_sum = 0;
  int64_t tokens = 0, right = 0;
  {
    torch::NoGradGuard no_grad;
    TokenBucketBatcher valid_batcher(data.valid, batch_tokens, 0, seed);
    for (const auto& indices : valid_batcher.sorted()) {
      Batch batch = data.valid_batch(indices).to(device);
      loss_sum +=
          model->loss_sum(Source::of(batch), batch.target_in, batch.target_out, 0.0).item<double>();
      tokens += batch.target_tokens;
      if (!classify) continue;
      auto predicted =
          label_probabilities(model, Source::of(batch), static_cast<int64_t>(data.labels.size()))
              .argmax(1);
      right += (predicted + Tokenizer::kNumSpecial == batch.target_out.select(1, 0))
                   .sum()
                   .item<int64_t>();
    }
  }
  score.loss = tokens > 0 ? loss_sum / double(tokens) : 0.0;
  if (classify) {
    score.accuracy = data.valid.empty() ? 0.0 : 100.0 * double(right) / double(data.valid.size());
    model->train();
    return score;
  }
  const int64_t bleu_sentences = config.get_int("train.valid_bleu_sentences");
  if (bleu_sentences > 0 && !data.valid_bleu_examples.empty()) {
    size_t n =
        std::min<size_t>(static_cast<size_t>(bleu_sentences), data.valid_bleu_examples.size());
    std::vector<Example> examples;
    for (size_t i = 0; i < n; ++i)
      examples.push_back(data.valid[static_cast<size_t>(data.valid_bleu_examples[i])]);
    TokenBucketBatcher bleu_batcher(examples, batch_tokens, 0, 0);
    std::vector<std::string> hypotheses(n);
    SearchOptions greedy;
    greedy.max_length_ratio = config.get_number("eval.max_length_ratio");
    greedy.max_length = config.get_int("data.max_length");
    for (const auto& indices : bleu_batcher.sorted()) {
      Batch batch = collate(examples, indices, data.valid_images).to(device);
      auto found = greedy_search(model, Source::of(batch), greedy);
      for (size_t i = 0; i < indices.size(); ++i)
        hypotheses[indices[i]] = data.tokenizer->decode(found[i].tokens);
    }
    std::vector<std::vector<std::string>> references;
    for (const auto& column : data.valid_references)
      references.emplace_back(column.begin(), column.begin() + static_cast<std::ptrdiff_t>(n));
    score.bleu = metric_registry().create("bleu")->corpus_score(hypotheses, references).score;
    const std::string stop_metric = config.get_string("train.early_stop_metric");
    if (stop_metric == "chrf")
      score.chrf = metric_registry().create("chrf")->corpus_score(hypotheses, references).score;
    if (stop_metric == "cider")
      score.cider = metric_registry().create("cider")->corpus_score(hypotheses, references).score;
  }
  model->train();
  return score;
}

}  // namespace seqlab
