#include "eval/classify.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "data/batch.h"
#include "eval/metric.h"

namespace seqlab {

torch::Tensor label_probabilities(Seq2Seq& model, const Source& source, int64_t labels) {
  auto start = torch::full({source.batch_size(), 1}, Tokenizer::kBos,
                           torch::TensorOptions().dtype(torch::kInt64).device(source.device()));
  auto logits = model->forward(source, start).select(1, 0);  // [B, V]
  if (logits.size(1) != Tokenizer::kNumSpecial + labels)
    throw InputError(fmt::format("the model scores {} classes, but the run has {} labels",
                                 logits.size(1) - Tokenizer::kNumSpecial, labels));
  return torch::softmax(logits.narrow(1, Tokenizer::kNumSpecial, labels).to(torch::kFloat), 1);
}

std::vector<Prediction> classify_sentences(Seq2Seq& model, const Tokenizer& tokenizer,
                                           torch::Device device, int64_t labels,
                                           const std::vector<std::string>& sentences,
                                           int64_t batch_tokens) {
  torch::InferenceMode inference;
  std::vector<Example> examples;
  std::vector<size_t> line_of;
  for (size_t i = 0; i < sentences.size(); ++i) {
    auto ids = tokenizer.encode(sentences[i]);
    if (ids.empty()) continue;
    examples.push_back({std::move(ids), {Tokenizer::kNumSpecial}});
    line_of.push_back(i);
  }
  std::vector<Prediction> out(sentences.size());
  if (examples.empty()) return out;
  const bool was_training = model->is_training();
  model->eval();
  TokenBucketBatcher batcher(examples, batch_tokens, 0, 0);
  for (const auto& indices : batcher.sorted()) {
    Batch batch = collate(examples, indices, {}, Framing::kLabel).to(device);
    auto [probability, label] = label_probabilities(model, Source::of(batch), labels).max(1);
    probability = probability.to(torch::kCPU, torch::kDouble);
    label = label.to(torch::kCPU);
    for (size_t i = 0; i < indices.size(); ++i) {
      Prediction& p = out[line_of[static_cast<size_t>(indices[i])]];
      p.label = label[static_cast<int64_t>(i)].item<int64_t>();
      p.probability = probability[static_cast<int64_t>(i)].item<double>();
    }
  }
  if (was_training) model->train();
  return out;
}

Json score_classification(const std::vector<std::string>& predicted,
                          const std::vector<std::string>& gold, std::vector<std::string> labels) {
  if (predicted.size() != gold.size())
    throw InputError(
        fmt::format("{} predictions for {} gold labels", predicted.size(), gold.size()));
  for (const auto* side : {&gold, &predicted})
    for (const auto& name : *side)
      if (std::find(labels.begin(), labels.end(), name) == labels.end()) labels.push_back(name);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = i;
  const size_t n = labels.size();
  std::vector<std::vector<int64_t>> confusion(n, std::vector<int64_t>(n, 0));
  int64_t right = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    ++confusion[index[gold[i]]][index[predicted[i]]];
    right += gold[i] == predicted[i];
  }
  Json per_label = Json::array();
  double f1_sum = 0;
  int64_t present = 0;
  for (size_t k = 0; k < n; ++k) {
    int64_t tp = confusion[k][k], support = 0, predicted_k = 0;
    for (size_t j = 0; j < n; ++j) {
      support += confusion[k][j];
      predicted_k += confusion[j][k];
    }
    // scikit-learn's zero_division=0: an undefined precision or recall counts as 0.
    const double precision = predicted_k ? double(tp) / double(predicted_k) : 0.0;
    const double recall = support ? double(tp) / double(support) : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    per_label.push_back({{"label", labels[k]},
                         {"precision", 100 * precision},
                         {"recall", 100 * recall},
                         {"f1", 100 * f1},
                         {"support", support}});
    if (support > 0 || predicted_k > 0) {
      f1_sum += f1;
      ++present;
    }
  }
  const double total = double(gold.size());
  return {{"sentences", gold.size()},
          {"accuracy", gold.empty() ? 0.0 : 100.0 * double(right) / total},
          {"macro_f1", present ? 100.0 * f1_sum / double(present) : 0.0},
          {"labels", labels},
          {"confusion", confusion},
          {"per_label", per_label}};
}

std::string confusion_table(const Json& scored) {
  std::vector<std::string> labels = scored.at("labels");
  size_t width = 4;
  for (const auto& l : labels) width = std::max(width, l.size());
  std::string out = fmt::format("{:<{}}  ", "gold \\ predicted", std::max<size_t>(width, 16));
  for (const auto& l : labels) out += fmt::format("{:>{}} ", l.empty() ? "(none)" : l, width);
  out += "\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += fmt::format("{:<{}}  ", labels[i].empty() ? "(none)" : labels[i],
                       std::max<size_t>(width, 16));
    for (const auto& count : scored.at("confusion")[i])
      out += fmt::format("{:>{}} ", count.get<int64_t>(), width);
    out += "\n";
  }
  return out;
}

namespace {

// Label names as metrics (`seqlab score accuracy --ref gold.txt --hyp predicted.txt`): one label
// per line; the first reference set is the gold one.
class LabelMetric : public Metric {
 public:
  explicit LabelMetric(std::string key) : key_(std::move(key)) {}

  // accuracy: [correct, 1] per sentence. macro_f1: for every label of the set (gold and
  // predicted, in first-seen order) [true positive, predicted, gold] per sentence.
  std::vector<std::vector<double>> item_statistics(
      const std::vector<std::string>& hypotheses,
      const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    const auto& gold = references.front();
    std::vector<std::vector<double>> rows;
    if (key_ == "accuracy") {
      for (size_t i = 0; i < gold.size(); ++i)
        rows.push_back({hypotheses[i] == gold[i] ? 1.0 : 0.0, 1.0});
      return rows;
    }
    std::vector<std::string> labels;
    for (const auto* side : {&gold, &hypotheses})
      for (const auto& name : *side)
        if (std::find(labels.begin(), labels.end(), name) == labels.end()) labels.push_back(name);
    std::map<std::string, size_t> index;
    for (size_t k = 0; k < labels.size(); ++k) index[labels[k]] = k;
    for (size_t i = 0; i < gold.size(); ++i) {
      std::vector<double> row(3 * labels.size(), 0.0);
      const size_t g = index[gold[i]], p = index[hypotheses[i]];
      row[3 * p + 1] = 1;
      row[3 * g + 2] = 1;
      if (g == p) row[3 * g] = 1;
      rows.push_back(std::move(row));
    }
    return rows;
  }

  double score_from_statistics(const std::vector<double>& sums) const override {
    if (key_ == "accuracy") return mean_from_statistics(sums, 100.0, "accuracy");
    if (sums.size() % 3 != 0)
      throw InputError(
          fmt::format("macro-F1 statistics have {} values, not a multiple of 3", sums.size()));
    double f1_sum = 0;
    int64_t present = 0;
    for (size_t k = 0; k + 2 < sums.size(); k += 3) {
      const double tp = sums[k], predicted = sums[k + 1], support = sums[k + 2];
      const double precision = predicted > 0 ? tp / predicted : 0.0;
      const double recall = support > 0 ? tp / support : 0.0;
      if (support > 0 || predicted > 0) {
        f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
        ++present;
      }
    }
    return present ? 100.0 * f1_sum / double(present) : 0.0;
  }
  MetricScore corpus_score(const std::vector<std::string>& hypotheses,
                           const std::vector<std::vector<std::string>>& references) const override {
    check_reference_lengths(hypotheses, references);
    if (references.empty()) throw InputError(key_ + ": needs the gold labels as a reference");
    Json scored = score_classification(hypotheses, references.front(), {});
    MetricScore score;
    score.score = scored.at(key_).get<double>();
    score.signature = key_ == "accuracy" ? "accuracy|exact label match"
                                         : "macro_f1|unweighted mean of per-label F1";
    score.summary = fmt::format("{} = {:.2f} ({} sentences, {} labels)",
                                key_ == "accuracy" ? "accuracy" : "macro-F1", score.score,
                                hypotheses.size(), scored.at("labels").size());
    score.details = scored;
    return score;
  }

 private:
  std::string key_;
};

const bool registered =
    metric_registry().add(
        "accuracy", [] { return std::unique_ptr<Metric>(new LabelMetric("accuracy")); },
        "classification: % of labels equal to the gold label") &&
    metric_registry().add(
        "macro_f1", [] { return std::unique_ptr<Metric>(new LabelMetric("macro_f1")); },
        "classification: unweighted mean of per-label F1 (scikit-learn's average=\"macro\")");

}  // namespace
}  // namespace seqlab
