#include "eval/translate.h"

#include <algorithm>

#include <torch/torch.h>

#include "data/batch.h"
#include "eval/length_buckets.h"
#include "eval/metric.h"

namespace seqlab {
namespace {

const bool declared =
    ConfigSchema::global().add(
        key_int("eval.beam", 5, "beam size for eval/translate; 1 = greedy").range(1, 256)) &&
    ConfigSchema::global().add(
        key_number("eval.length_penalty", 1.0, "GNMT length-penalty alpha (Wu et al. 2016)")
            .range(0, 5)) &&
    ConfigSchema::global().add(
        key_number("eval.max_length_ratio", 2.0, "max output tokens per source token")
            .range(0.1, 100)) &&
    ConfigSchema::global().add(
        key_string("eval.precision", "fp32",
                   "weights of linear layers when decoding: fp32, or int8 (per output channel, "
                   "activations per row; CPU only)")
            .one_of({"fp32", "int8"})) &&
    ConfigSchema::global().add(
        key_int("eval.shortlist", 0,
                "decode translations over a lexical shortlist of this many candidates per source "
                "token (0 = the whole vocabulary)")
            .range(0, 100000)) &&
    ConfigSchema::global().add(
        key_int("eval.shortlist_frequent", 100,
                "the shortlist also holds this many of the most frequent target tokens")
            .range(0, 1000000));

}  // namespace

SearchOptions search_options(const Config& config) {
  SearchOptions options;
  options.beam = config.get_int("eval.beam");
  options.length_penalty = config.get_number("eval.length_penalty");
  options.max_length_ratio = config.get_number("eval.max_length_ratio");
  options.max_length = config.get_int("data.max_length");  // images have no source length to scale
  return options;
}

SourceExamples encode_sources(const Tokenizer& tokenizer, const std::vector<std::string>& lines) {
  SourceExamples sources;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto ids = tokenizer.encode(lines[i]);
    if (ids.empty()) continue;
    sources.examples.push_back({std::move(ids), {}});
    sources.line_of.push_back(i);
  }
  return sources;
}

int64_t beam_batch_tokens(int64_t batch_tokens, int64_t beam) {
  return std::max<int64_t>(64, batch_tokens / std::max<int64_t>(1, beam));
}

std::vector<std::string> translate_sentences(Seq2Seq& model, const Tokenizer& tokenizer,
                                             torch::Device device,
                                             const std::vector<std::string>& sources,
                                             const SearchOptions& options, int64_t batch_tokens) {
  auto [examples, line_of] = encode_sources(tokenizer, sources);
  std::vector<std::string> out(sources.size());
  if (examples.empty()) return out;
  TokenBucketBatcher batcher(examples, beam_batch_tokens(batch_tokens, options.beam), 0, 0);
  for (const auto& indices : batcher.sorted()) {
    Batch batch = collate(examples, indices).to(device);
    Source source = Source::of(batch);
    auto hypotheses = search(model, source, options);
    for (size_t i = 0; i < indices.size(); ++i)
      out[line_of[static_cast<size_t>(indices[i])]] = tokenizer.decode(hypotheses[i].tokens);
  }
  return out;
}

Json score_translations(const std::vector<std::string>& sources,
                        const std::vector<std::string>& hypotheses,
                        const std::vector<std::string>& references) {
  auto bleu = metric_registry().create("bleu")->corpus_score(hypotheses, {references});
  auto chrf = metric_registry().create("chrf")->corpus_score(hypotheses, {references});
  size_t exact = 0;
  for (size_t i = 0; i < hypotheses.size() && i < references.size(); ++i)
    exact += hypotheses[i] == references[i];
  return {
      {"sentences", hypotheses.size()},
      {"exact_match", hypotheses.empty() ? 0.0 : 100.0 * double(exact) / double(hypotheses.size())},
      {"bleu", bleu.score},
      {"chrf", chrf.score},
      {"bleu_summary", bleu.summary},
      {"bleu_signature", bleu.signature},
      {"chrf_signature", chrf.signature},
      {"bleu_by_source_length", to_json(bleu_by_source_length(sources, hypotheses, references))}};
}

}  // namespace seqlab
