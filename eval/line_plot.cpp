#include "eval/line_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/raster.h"

namespace seqlab {

void write_line_plot_png(const std::string& path, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const std::vector<PlotSeries>& series, int width, int height) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw InputError(fmt::format("plot '{}': series '{}' has {} x and {} y values", title,
                                   s.label, s.x.size(), s.y.size()));
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
  }
  if (!std::isfinite(x_min) || !std::isfinite(y_min))
    throw InputError(fmt::format("plot '{}': no finite point to draw", title));
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;
  const double y_pad = 0.05 * (y_max - y_min);
  y_min -= y_pad;
  y_max += y_pad;

  Image image(width, height);
  const int left = 90, right = 170, top = 40, bottom = 50;  // the legend sits right of the plot
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return top + (y_max - y) / (y_max - y_min) * plot_h; };
  const unsigned char axis[3] = {90, 90, 90}, grid[3] = {225, 225, 225};
  for (int k = 1; k < 4; ++k) {
    double gy = top + plot_h * k / 4.0, gx = left + plot_w * k / 4.0;
    image.line(left, gy, left + plot_w, gy, grid);
    image.line(gx, top, gx, top + plot_h, grid);
  }
  image.line(left, top, left, top + plot_h, axis);
  image.line(left, top + plot_h, left + plot_w, top + plot_h, axis);
  image.line(left + plot_w, top, left + plot_w, top + plot_h, axis);
  image.line(left, top, left + plot_w, top, axis);
  for (const auto& s : series)
    for (size_t i = 1; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i]))
        image.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color.data(),
                   s.thickness);
  draw(image, render_text(title), left, 10, false);
  auto number = [](double v) { return fmt::format("{:.3g}", v); };
  auto y_hi = render_text(number(y_max)), y_lo = render_text(number(y_min));
  draw(image, y_hi, left - 6 - y_hi.width, top, false);
  draw(image, y_lo, left - 6 - y_lo.width, top + plot_h - y_lo.height, false);
  auto x_lo = render_text(number(x_min)), x_hi = render_text(number(x_max));
  draw(image, x_lo, left, top + plot_h + 6, false);
  draw(image, x_hi, left + plot_w - x_hi.width, top + plot_h + 6, false);
  auto xl = render_text(x_label);
  draw(image, xl, left + (plot_w - xl.width) / 2, top + plot_h + 22, false);
  auto yl = render_text(y_label);
  draw(image, yl, 8, top + (plot_h - yl.width) / 2, true);
  // Legend, right of the plot.
  int legend_y = top + 8;
  for (const auto& s : series) {
    auto label = render_text(s.label);
    int lx = left + plot_w + 12;
    image.line(lx, legend_y + label.height / 2.0, lx + 28, legend_y + label.height / 2.0,
               s.color.data(), 3);
    draw(image, label, lx + 34, legend_y, false);
    legend_y += label.height + 4;
  }
  write_png(path, image);
}

}  // namespace seqlab
