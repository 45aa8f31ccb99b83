#include "eval/heatmap.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"
#include "eval/raster.h"

namespace seqlab {
namespace {

constexpr int kCell = 22;  // pixels per attention cell
constexpr int kPadding = 6;

}  // namespace

void write_attention_png(const std::string& path, const torch::Tensor& weights,
                         const std::vector<std::string>& source_tokens,
                         const std::vector<std::string>& target_tokens) {
  if (weights.dim() != 2)
    throw InputError(fmt::format("heatmap: expected [Tq, Tk] weights, got shape {}",
                                 fmt::join(weights.sizes(), "x")));
  write_attention_panels_png(path, weights.unsqueeze(0), source_tokens, target_tokens, {}, "");
}

void write_attention_panels_png(const std::string& path, const torch::Tensor& weights,
                                const std::vector<std::string>& source_tokens,
                                const std::vector<std::string>& target_tokens,
                                const std::vector<std::string>& titles,
                                const std::string& heading) {
  if (weights.dim() != 3 || weights.size(1) != static_cast<int64_t>(target_tokens.size()) ||
      weights.size(2) != static_cast<int64_t>(source_tokens.size()) ||
      (!titles.empty() && static_cast<int64_t>(titles.size()) != weights.size(0)))
    throw InputError(
        fmt::format("heatmap: weights of shape {} do not match {} target and {} "
                    "source tokens ({} titles)",
                    fmt::join(weights.sizes(), "x"), target_tokens.size(), source_tokens.size(),
                    titles.size()));
  std::vector<TextMask> rows, columns, headings;
  int row_label_width = 0, column_label_height = 0, title_height = 0;
  for (const auto& t : target_tokens) {
    rows.push_back(render_text(t));
    row_label_width = std::max(row_label_width, rows.back().width);
  }
  for (const auto& s : source_tokens) {
    columns.push_back(render_text(s));
    column_label_height = std::max(column_label_height, columns.back().width);
  }
  const int rows_n = static_cast<int>(target_tokens.size()),
            cols_n = static_cast<int>(source_tokens.size());
  int panel_width = cols_n * kCell;
  for (const auto& t : titles) {
    headings.push_back(render_text(t));
    title_height = std::max(title_height, headings.back().height + kPadding);
    panel_width = std::max(panel_width, headings.back().width);
  }
  TextMask heading_text;
  int heading_height = 0;
  if (!heading.empty()) {
    heading_text = render_text(heading);
    heading_height = heading_text.height + kPadding;
  }
  const int panels = static_cast<int>(weights.size(0));
  const int left = row_label_width + 2 * kPadding;
  const int top = heading_height + title_height + column_label_height + 2 * kPadding;
  const int gap = 3 * kPadding;
  Image image(
      std::max(left + panels * panel_width + (panels - 1) * gap, heading_text.width + kPadding) +
          kPadding,
      top + rows_n * kCell + kPadding);
  if (heading_height > 0) draw(image, heading_text, kPadding, kPadding, false);
  auto w = weights.to(torch::kCPU, torch::kFloat).contiguous();
  auto a = w.accessor<float, 3>();
  for (int p = 0; p < panels; ++p) {
    const int x0 = left + p * (panel_width + gap);
    for (int i = 0; i < rows_n; ++i)
      for (int j = 0; j < cols_n; ++j) {
        float v = std::clamp(a[p][i][j], 0.0f, 1.0f);
        // white -> dark blue
        auto r = static_cast<unsigned char>(255 - v * 247),
             g = static_cast<unsigned char>(255 - v * 207),
             b = static_cast<unsigned char>(255 - v * 148);
        for (int y = 1; y < kCell; ++y)
          for (int x = 1; x < kCell; ++x)
            image.set(x0 + j * kCell + x, top + i * kCell + y, r, g, b);
      }
    for (int j = 0; j < cols_n; ++j)
      draw(image, columns[static_cast<size_t>(j)],
           x0 + j * kCell + (kCell - columns[static_cast<size_t>(j)].height) / 2 + 1,
           top - kPadding - columns[static_cast<size_t>(j)].width, true);
    if (!headings.empty())
      draw(image, headings[static_cast<size_t>(p)], x0, heading_height + kPadding, false);
  }
  for (int i = 0; i < rows_n; ++i)
    draw(image, rows[static_cast<size_t>(i)], left - kPadding - rows[static_cast<size_t>(i)].width,
         top + i * kCell + (kCell - rows[static_cast<size_t>(i)].height) / 2 + 1, false);
  write_png(path, image);
}

}  // namespace seqlab
