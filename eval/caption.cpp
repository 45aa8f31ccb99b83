#include "eval/caption.h"

#include <torch/torch.h>

#include "eval/metric.h"

namespace seqlab {

std::vector<std::string> caption_images(Seq2Seq& model, const Tokenizer& tokenizer,
                                        torch::Device device, const torch::Tensor& images,
                                        const SearchOptions& options, int64_t batch_images) {
  std::vector<std::string> out;
  const int64_t n = images.size(0);
  const int64_t step = std::max<int64_t>(1, batch_images / std::max<int64_t>(1, options.beam));
  out.reserve(static_cast<size_t>(n));
  for (int64_t start = 0; start < n; start += step) {
    Source source;
    source.images = images.narrow(0, start, std::min(step, n - start)).to(device);
    for (const auto& h : search(model, source, options)) out.push_back(tokenizer.decode(h.tokens));
  }
  return out;
}

Json score_captions(const std::vector<std::string>& hypotheses,
                    const std::vector<std::vector<std::string>>& references,
                    std::vector<double>* exact_matches) {
  Json result = {{"images", hypotheses.size()}};
  auto cider = metric_registry().create("cider")->corpus_score(hypotheses, references);
  result["cider"] = cider.score;
  result["cider_signature"] = cider.signature;
  for (int k = 1; k <= 4; ++k) {
    auto bleu =
        metric_registry().create("bleu-" + std::to_string(k))->corpus_score(hypotheses, references);
    result["bleu_" + std::to_string(k)] = bleu.score;
    if (k == 4) result["bleu_summary"] = bleu.summary;
  }
  std::vector<double> matches = caption_exact_matches(hypotheses, references);
  double exact = 0;
  for (double e : matches) exact += e;
  result["exact_match"] = hypotheses.empty() ? 0.0 : 100.0 * exact / double(hypotheses.size());
  if (exact_matches) *exact_matches = std::move(matches);
  return result;
}

std::vector<double> caption_exact_matches(const std::vector<std::string>& hypotheses,
                                          const std::vector<std::vector<std::string>>& references) {
  check_reference_lengths(hypotheses, references);
  std::vector<double> exact(hypotheses.size(), 0.0);
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    auto tokens = caption_tokens(hypotheses[i]);
    for (const auto& column : references)
      if (!column[i].empty() && caption_tokens(column[i]) == tokens) {
        exact[i] = 1.0;
        break;
      }
  }
  return exact;
}

}  // namespace seqlab
