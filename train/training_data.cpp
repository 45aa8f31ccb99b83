#include "train/training_data.h"

#include <filesystem>

#include <torch/torch.h>

#include "core/error.h"
#include "data/recipe.h"
#include "eval/metric.h"
#include "eval/search.h"
#include "train/run_directory.h"

namespace fs = std::filesystem;

namespace seqlab {
namespace {

ConfigSchema& schema() { return ConfigSchema::global(); }

const bool declared =
    schema().add(key_string("data.corpus", "ui-fr",
                            "recipe name (prepared with `seqlab data prepare`) or a directory "
                            "with train.tsv, valid.tsv, test.tsv")) &&
    schema().add(key_string("data.tokenizer", "bpe", "tokenizer kind")
                     .names_from([] { return TokenizerRegistry().names(); })) &&
    schema().add(key_int("data.vocab_size", 8000, "joint vocabulary size").range(0, 1000000)) &&
    schema().add(key_int("data.max_length", 100,
                         "training pairs with more tokens on either side are skipped")
                     .range(1, 100000)) &&
    schema().add(key_int("data.train_limit", 0, "use only the first N training pairs; 0 = all")
                     .range(0, 1e12));

}  // namespace

TrainingData load_training_data(const Config& config, const std::string& run_dir, bool resume) {
  TrainingData data;
  const std::string corpus = config.get_string("data.corpus");
  auto train_pairs = load_corpus_split(corpus, "train");
  auto valid_pairs = load_corpus_split(corpus, "valid");
  if (int64_t limit = config.get_int("data.train_limit");
      limit > 0 && static_cast<size_t>(limit) < train_pairs.size())
    train_pairs.resize(static_cast<size_t>(limit));
  std::string tokenizer_path = run_dir + "/tokenizer.json";
  if (resume && fs::exists(tokenizer_path)) {
    data.tokenizer = Tokenizer::load(tokenizer_path);
  } else {
    std::vector<std::string> sentences;
    for (const auto& p : train_pairs) {
      sentences.push_back(p.source);
      sentences.push_back(p.target);
    }
    TokenizerOptions options;
    options.vocab_size = config.get_int("data.vocab_size");
    data.tokenizer = train_tokenizer(config.get_string("data.tokenizer"), sentences, options);
    data.tokenizer->save(tokenizer_path);
  }
  const auto max_length = static_cast<size_t>(config.get_int("data.max_length"));
  for (auto& ex : encode_pairs(*data.tokenizer, train_pairs))
    if (!ex.source.empty() && ex.source.size() <= max_length && ex.target.size() <= max_length)
      data.train.push_back(std::move(ex));
  if (data.train.empty()) throw InputError("no training pairs within data.max_length");
  data.valid = encode_pairs(*data.tokenizer, valid_pairs);
  for (const auto& p : valid_pairs) {
    data.valid_sources.push_back(p.source);
    data.valid_targets.push_back(p.target);
  }
  return data;
}

Source source_of(const Batch& batch) {
  return {batch.source, batch.source_lengths, batch.source_mask, {}};
}

torch::Tensor token_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets,
                             double smoothing) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape(-1),
                          F::CrossEntropyFuncOptions()
                              .ignore_index(Tokenizer::kPad)
                              .label_smoothing(smoothing)
                              .reduction(torch::kSum));
}

ValidationScore validate_model(Seq2Seq& model, const TrainingData& data, const Config& config,
                               torch::Device device) {
  const int64_t batch_tokens = config.get_int("train.batch_tokens");
  const uint64_t seed = static_cast<uint64_t>(config.get_int("run.seed"));
  model->eval();
  ValidationScore score;
  double loss_sum = 0;
  int64_t tokens = 0;
  {
    torch::NoGradGuard no_grad;
    TokenBucketBatcher valid_batcher(data.valid, batch_tokens, 0, seed);
    for (const auto& indices : valid_batcher.sorted()) {
      Batch batch = collate(data.valid, indices).to(device);
      auto logits = model->forward(source_of(batch), batch.target_in);
      loss_sum += token_loss_sum(logits, batch.target_out, 0.0).item<double>();
      tokens += batch.target_tokens;
    }
  }
  score.loss = tokens > 0 ? loss_sum / double(tokens) : 0.0;
  const int64_t bleu_sentences = config.get_int("train.valid_bleu_sentences");
  if (bleu_sentences > 0) {
    size_t n = std::min<size_t>(static_cast<size_t>(bleu_sentences), data.valid_sources.size());
    std::vector<Example> examples(data.valid.begin(), data.valid.begin() + n);
    TokenBucketBatcher bleu_batcher(examples, batch_tokens, 0, 0);
    std::vector<std::string> hypotheses(n);
    SearchOptions greedy;
    greedy.max_length_ratio = config.get_number("eval.max_length_ratio");
    for (const auto& indices : bleu_batcher.sorted()) {
      Batch batch = collate(examples, indices).to(device);
      auto found = greedy_search(model, source_of(batch), greedy);
      for (size_t i = 0; i < indices.size(); ++i)
        hypotheses[indices[i]] = data.tokenizer->decode(found[i].tokens);
    }
    std::vector<std::string> references(data.valid_targets.begin(), data.valid_targets.begin() + n);
    score.bleu = MetricRegistry().create("bleu")->corpus_score(hypotheses, {references}).score;
  }
  model->train();
  return score;
}

}  // namespace seqlab
