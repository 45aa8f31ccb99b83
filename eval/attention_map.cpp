#include "eval/attention_map.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/batch.h"
#include "eval/heatmap.h"
#include "models/attention/attention.h"

namespace seqlab {

namespace {

// One recorded map with its axis labels.
struct LabelledMap {
  std::string name;
  torch::Tensor weights;  // [heads, Tq, Tk]
  std::vector<std::string> rows, columns;
};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Labels by what each map attends over: encoder self-attention source x source, decoder
// self-attention target x target prefix, cross-attention target x source; a decoder-only model's
// self-attention runs over source + target.
LabelledMap label(const AttentionRecorder::Map& map, const std::vector<std::string>& source,
                  const std::vector<std::string>& generated, const std::vector<std::string>& prefix) {
  LabelledMap out{map.name, map.weights[0], {}, {}};
  const auto queries = map.weights.size(2), keys = map.weights.size(3);
  const auto s = static_cast<int64_t>(source.size()), t = static_cast<int64_t>(generated.size());
  bool encoder = map.name.rfind("encoder", 0) == 0;
  if (encoder && queries == s && keys == s) {
    out.rows = out.columns = source;
  } else if (queries == t && keys == s && map.name.find("cross") != std::string::npos) {
    out.rows = generated;
    out.columns = source;
  } else if (queries == t && keys == t) {
    out.rows = generated;
    out.columns = prefix;
  } else if (queries == s + t && keys == s + t) {
    out.rows = concat(source, generated);
    out.columns = concat(source, prefix);
  } else {
    throw Error(fmt::format("attention map '{}' of shape {}x{} matches neither the source ({}) nor "
                            "the target ({}) length", map.name, queries, keys, s, t));
  }
  return out;
}

std::vector<std::vector<std::vector<float>>> to_nested(const torch::Tensor& weights) {  // [H, Tq, Tk]
  std::vector<std::vector<std::vector<float>>> out;
  auto w = weights.contiguous();
  for (int64_t h = 0; h < w.size(0); ++h) {
    out.emplace_back();
    for (int64_t i = 0; i < w.size(1); ++i) {
      auto row = w[h][i].contiguous();
      out.back().emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
  }
  return out;
}

}  // namespace

Json write_attention_map(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                         const SearchOptions& search, const std::string& decoder_name,
                         const std::string& text, const std::string& out_png) {
  require_utf8(text, "--text");
  auto ids = tokenizer.encode(text);
  if (ids.empty()) throw InputError("--text is empty after tokenization");
  std::vector<Example> examples = {{ids, {}}};
  Batch batch = collate(examples, {0}).to(device);
  Source source{batch.source, batch.source_lengths, batch.source_mask, {}};
  SearchOptions options = search;
  options.beam = 1;  // one path, one map row per generated token
  auto found = greedy_search(model, source, options);
  // Record one teacher-forced pass over what was generated: the same attention the search used,
  // with every layer's full maps in one piece.
  examples[0].target = found[0].tokens;
  Batch forced = collate(examples, {0}).to(device);
  AttentionRecorder recorder;
  {
    torch::NoGradGuard no_grad;
    model->forward(source, forced.target_in);
  }
  if (recorder.maps().empty())
    throw InputError(fmt::format("the model of this run has no attention to draw (decoder '{}'); "
                                 "attention decoders: bahdanau, luong, transformer",
                                 decoder_name));
  std::vector<std::string> source_tokens, target_tokens, prefix_tokens = {"<s>"};
  for (int64_t id : ids) source_tokens.push_back(tokenizer.piece(id));
  for (int64_t id : found[0].tokens) {
    target_tokens.push_back(tokenizer.piece(id));
    prefix_tokens.push_back(target_tokens.back());
  }
  target_tokens.push_back("</s>");
  prefix_tokens.resize(target_tokens.size());

  // Maps recorded under one name at several steps (RNN decoders) are joined along the queries.
  std::vector<LabelledMap> maps;
  for (const auto& map : recorder.maps()) {
    bool seen = std::any_of(maps.begin(), maps.end(), [&](const LabelledMap& m) { return m.name == map.name; });
    if (!seen) maps.push_back(label({map.name, recorder.stacked(map.name)}, source_tokens, target_tokens, prefix_tokens));
  }
  // The headline picture: generated tokens over source tokens, heads averaged, from the last
  // cross-attention (or, in a decoder-only model, the target rows' attention to the prefix).
  torch::Tensor headline;
  for (const auto& m : maps) {
    if (m.rows == target_tokens && m.columns == source_tokens) headline = m.weights.mean(0);
    if (m.rows.size() == source_tokens.size() + target_tokens.size() && m.columns.size() == m.rows.size())
      headline = m.weights.mean(0)
                     .narrow(0, static_cast<int64_t>(source_tokens.size()), static_cast<int64_t>(target_tokens.size()))
                     .narrow(1, 0, static_cast<int64_t>(source_tokens.size()));
  }
  if (!headline.defined()) throw InputError("the model of this run has no attention from the target to the source");
  write_attention_png(out_png, headline, source_tokens, target_tokens);

  // Every layer's every head, one picture per map (transformers: encoder self, decoder self, cross).
  Json layer_maps = Json::array(), layer_weights = Json::object();
  auto stem = std::filesystem::path(out_png).replace_extension("").string();
  for (const auto& m : maps) {
    std::vector<std::string> titles;
    for (int64_t h = 0; h < m.weights.size(0); ++h) titles.push_back(fmt::format("head {}", h + 1));
    std::string png = fmt::format("{}.{}.png", stem, m.name);
    write_attention_panels_png(png, m.weights, m.columns, m.rows, titles, m.name);
    layer_maps.push_back({{"name", m.name}, {"heads", m.weights.size(0)}, {"png", png}});
    layer_weights[m.name] = {{"rows", m.rows}, {"columns", m.columns}, {"weights", to_nested(m.weights)}};
  }
  auto main_weights = to_nested(headline.unsqueeze(0))[0];
  Json result = {{"source", text},
                 {"translation", tokenizer.decode(found[0].tokens)},
                 {"source_tokens", source_tokens},
                 {"target_tokens", target_tokens},
                 {"weights", main_weights},
                 {"png", out_png},
                 {"maps", layer_maps}};
  std::string json_path = stem + ".json";
  Json saved = result;
  saved["layers"] = layer_weights;
  write_file_atomic(json_path, saved.dump() + "\n");
  result.erase("weights");
  result["json"] = json_path;
  return result;
}

}  // namespace seqlab
