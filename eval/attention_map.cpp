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
#include "eval/raster.h"
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
                  const std::vector<std::string>& generated,
                  const std::vector<std::string>& prefix) {
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
    throw Error(
        fmt::format("attention map '{}' of shape {}x{} matches neither the source ({}) nor "
                    "the target ({}) length",
                    map.name, queries, keys, s, t));
  }
  return out;
}

std::vector<std::vector<std::vector<float>>> to_nested(
    const torch::Tensor& weights) {  // [H, Tq, Tk]
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
  Source source = Source::of(batch);
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
    throw InputError(
        fmt::format("the model of this run has no attention to draw (decoder '{}'); "
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
    bool seen = std::any_of(maps.begin(), maps.end(),
                            [&](const LabelledMap& m) { return m.name == map.name; });
    if (!seen)
      maps.push_back(label({map.name, recorder.stacked(map.name)}, source_tokens, target_tokens,
                           prefix_tokens));
  }
  // The headline picture: generated tokens over source tokens, heads averaged, from the last
  // cross-attention (or, in a decoder-only model, the target rows' attention to the prefix).
  torch::Tensor headline;
  for (const auto& m : maps) {
    if (m.rows == target_tokens && m.columns == source_tokens) headline = m.weights.mean(0);
    if (m.rows.size() == source_tokens.size() + target_tokens.size() &&
        m.columns.size() == m.rows.size())
      headline = m.weights.mean(0)
                     .narrow(0, static_cast<int64_t>(source_tokens.size()),
                             static_cast<int64_t>(target_tokens.size()))
                     .narrow(1, 0, static_cast<int64_t>(source_tokens.size()));
  }
  if (!headline.defined())
    throw InputError("the model of this run has no attention from the target to the source");
  write_attention_png(out_png, headline, source_tokens, target_tokens);

  // Every layer's every head, one picture per map (transformers: encoder self, decoder self,
  // cross).
  Json layer_maps = Json::array(), layer_weights = Json::object();
  auto stem = std::filesystem::path(out_png).replace_extension("").string();
  for (const auto& m : maps) {
    std::vector<std::string> titles;
    for (int64_t h = 0; h < m.weights.size(0); ++h) titles.push_back(fmt::format("head {}", h + 1));
    std::string png = fmt::format("{}.{}.png", stem, m.name);
    write_attention_panels_png(png, m.weights, m.columns, m.rows, titles, m.name);
    layer_maps.push_back({{"name", m.name}, {"heads", m.weights.size(0)}, {"png", png}});
    layer_weights[m.name] = {
        {"rows", m.rows}, {"columns", m.columns}, {"weights", to_nested(m.weights)}};
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

ImageAttention image_attention(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                               const SearchOptions& search, const std::string& decoder_name,
                               const torch::Tensor& image) {
  if (image.dim() != 3) throw InputError("image_attention: expected one image [C, H, W]");
  Source source;
  source.images = image.unsqueeze(0).to(device);
  SearchOptions options = search;
  options.beam = 1;
  auto found = greedy_search(model, source, options);
  int64_t grid_height = 0, grid_width = 0;
  std::vector<Example> examples(1);
  examples[0].target = found[0].tokens;
  Batch forced = collate(examples, {0}).to(device);
  AttentionRecorder recorder;
  {
    torch::NoGradGuard no_grad;
    Memory memory = model->encode(source);
    grid_height = memory.grid_height;
    grid_width = memory.grid_width;
    model->decoder->forward(memory, forced.target_in);
  }
  const int64_t regions = grid_height * grid_width;
  const auto steps = static_cast<int64_t>(found[0].tokens.size()) + 1;  // eos included
  // The last map over the image regions: a transformer's last cross-attention layer, an RNN's
  // attention.
  torch::Tensor weights;
  std::vector<std::string> names;
  for (const auto& map : recorder.maps())
    if (std::find(names.begin(), names.end(), map.name) == names.end()) names.push_back(map.name);
  for (const auto& name : names) {
    auto stacked = recorder.stacked(name);  // [1, heads, Tq, Tk]
    if (stacked.size(3) == regions && stacked.size(2) == steps) weights = stacked[0].mean(0);
  }
  if (regions == 0 || !weights.defined())
    throw InputError(
        fmt::format("the model of this run has no attention over image regions (decoder '{}'); "
                    "attention decoders: bahdanau, luong, transformer",
                    decoder_name));
  ImageAttention out;
  out.caption = tokenizer.decode(found[0].tokens);
  for (int64_t id : found[0].tokens) {
    out.tokens.push_back(tokenizer.piece(id));
    out.words.push_back(tokenizer.decode({id}));
  }
  out.weights = weights.narrow(0, 0, steps - 1)
                    .reshape({steps - 1, grid_height, grid_width})
                    .to(torch::kCPU, torch::kFloat);
  return out;
}

Json write_image_attention_map(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                               const SearchOptions& options, const std::string& decoder_name,
                               const torch::Tensor& image, const std::string& out_png) {
  ImageAttention attention =
      image_attention(model, tokenizer, device, options, decoder_name, image);
  constexpr int kFrame = 160, kGap = 8, kLabel = 40;
  const auto words = static_cast<int>(attention.tokens.size());
  auto rgb = image.to(torch::kCPU, torch::kFloat);
  if (rgb.size(0) == 1) rgb = rgb.expand({3, -1, -1});
  namespace F = torch::nn::functional;
  auto big = F::interpolate(rgb.unsqueeze(0), F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{kFrame, kFrame})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false))[0]
                 .clamp(0, 255);  // [3, F, F]
  Image strip((words + 1) * (kFrame + kGap) + kGap, kFrame + 2 * kGap + kLabel);
  auto paste = [&](const torch::Tensor& frame, int slot, const std::string& label) {
    auto pixels = frame.round().clamp(0, 255).to(torch::kUInt8).contiguous();
    auto p = pixels.accessor<uint8_t, 3>();
    const int left = kGap + slot * (kFrame + kGap);
    for (int y = 0; y < kFrame; ++y)
      for (int x = 0; x < kFrame; ++x)
        strip.set(left + x, kGap + y, p[0][y][x], p[1][y][x], p[2][y][x]);
    TextMask text = render_text(label);
    draw(strip, text, left + std::max(0, (kFrame - text.width) / 2), kGap + kFrame + 6, false);
  };
  paste(big, 0, "image");
  Json weights = Json::array();
  for (int w = 0; w < words; ++w) {
    auto map = attention.weights[w];  // [h, w]
    weights.push_back(to_nested(map.unsqueeze(0))[0]);
    auto scaled = F::interpolate(map.unsqueeze(0).unsqueeze(0),
                                 F::InterpolateFuncOptions()
                                     .size(std::vector<int64_t>{kFrame, kFrame})
                                     .mode(torch::kBilinear)
                                     .align_corners(false))[0];
    scaled = scaled / scaled.max().clamp_min(1e-12);
    // Bright where the decoder looked, dimmed elsewhere, with a warm tint on the attended part.
    auto tint = torch::tensor({255.0f, 190.0f, 40.0f}).view({3, 1, 1});
    auto frame = big * (0.25 + 0.75 * scaled) * (1 - 0.35 * scaled) + tint * 0.35 * scaled;
    paste(frame, w + 1, attention.words[static_cast<size_t>(w)]);
  }
  write_png(out_png, strip);
  auto stem = std::filesystem::path(out_png).replace_extension("").string();
  std::vector<int64_t> grid = {attention.weights.size(1), attention.weights.size(2)};
  Json result = {{"caption", attention.caption},
                 {"tokens", attention.tokens},
                 {"grid", grid},
                 {"png", out_png}};
  Json saved = result;
  saved["weights"] = weights;
  write_file_atomic(stem + ".json", saved.dump() + "\n");
  result["json"] = stem + ".json";
  return result;
}

}  // namespace seqlab
