#include "eval/piano_roll.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/raster.h"

namespace seqlab {

void write_piano_roll(const std::string& path, const MidiPiece& piece, const std::string& title,
                      double max_beats) {
  if (piece.notes.empty()) throw Error("piano roll: no notes to draw");
  int low = 127, high = 0;
  double beats = 0;
  for (const auto& n : piece.notes) {
    if (double(n.start) / piece.ppqn >= max_beats) continue;
    low = std::min(low, n.pitch);
    high = std::max(high, n.pitch);
    beats = std::max(beats, std::min(max_beats, double(n.end) / piece.ppqn));
  }
  low = std::max(0, low - 2);
  high = std::min(127, high + 2);
  const int row = 6, per_beat = 16, left = 60, top = 40, bottom = 56, right = 20;
  const int plot_w = std::max(480, int(std::ceil(beats)) * per_beat),
            plot_h = (high - low + 1) * row;
  Image image(left + plot_w + right, top + plot_h + bottom);
  const unsigned char grid[] = {225, 225, 225}, octave[] = {170, 170, 170}, bar[] = {200, 200, 200};
  for (int b = 0; b <= int(std::ceil(beats)); ++b)  // beat lines, darker every 4 beats (a 4/4 bar)
    image.line(left + b * per_beat, top, left + b * per_beat, top + plot_h,
               b % 4 == 0 ? bar : grid);
  for (int p = low; p <= high; ++p)
    if (p % 12 == 0) {
      const int y = top + (high - p) * row + row - 1;
      image.line(left, y, left + plot_w, y, octave);
      draw(image, render_text(fmt::format("C{}", p / 12 - 1)), 8, y - 12, false);
    }
  for (const auto& n : piece.notes) {
    const double start = double(n.start) / piece.ppqn;
    if (start >= max_beats) continue;
    const double end = std::min(max_beats, double(n.end) / piece.ppqn);
    const int x0 = left + int(std::lround(start * per_beat)),
              x1 = std::max(x0 + 1, left + int(std::lround(end * per_beat)) - 1);
    const int y0 = top + (high - n.pitch) * row;
    // Colour by channel so voices stay apart.
    const unsigned char r = static_cast<unsigned char>(40 + (n.channel * 53) % 160),
                        g = static_cast<unsigned char>(80 + (n.channel * 97) % 120),
                        b = static_cast<unsigned char>(180 - (n.channel * 31) % 120);
    for (int x = x0; x <= x1; ++x)
      for (int y = y0 + 1; y < y0 + row; ++y) image.set(x, y, r, g, b);
  }
  draw(image, render_text(title), left, 8, false);
  draw(image, render_text("beats"), left + plot_w / 2 - 20, top + plot_h + 28, false);
  for (int b = 0; b <= int(std::ceil(beats)); b += 8)
    draw(image, render_text(std::to_string(b)), left + b * per_beat - 4, top + plot_h + 4, false);
  write_png(path, image);
}

}  // namespace seqlab
