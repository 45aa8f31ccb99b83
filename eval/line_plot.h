// Line plots as PNG (forecasts against the truth, learning curves): several series on shared
// axes, each in its colour with a legend entry, the axis ranges written at the ends.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace seqlab {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  std::array<unsigned char, 3> color{0, 0, 0};
  int thickness = 2;
};

// InputError when a series' x and y differ in length or nothing is finite to plot.
void write_line_plot_png(const std::string& path, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const std::vector<PlotSeries>& series, int width = 960, int height = 420);

}  // namespace seqlab
