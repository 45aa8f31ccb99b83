// A small RGB canvas for the pictures seqlab draws (attention heatmaps, forecast plots): pixels,
// text in DejaVu Sans through stb_truetype (any Latin, Greek or Cyrillic label; stb_easy_font's
// ASCII when fonts-dejavu-core is missing), lines, and an atomic PNG write through stb_image_write.
#pragma once

#include <string>
#include <vector>

namespace seqlab {

constexpr int kTextScale = 2;

struct Image {
  int width, height;
  std::vector<unsigned char> rgb;
  Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w * h * 3), 255) {}
  void set(int x, int y, unsigned char r, unsigned char g, unsigned char b) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    auto* p = &rgb[static_cast<size_t>((y * width + x) * 3)];
    p[0] = r;
    p[1] = g;
    p[2] = b;
  }
  // A line of `thickness` pixels from (x0, y0) to (x1, y1).
  void line(double x0, double y0, double x1, double y1, const unsigned char* color,
            int thickness = 1);
};

// Text rasterised into a coverage mask (width x height, 0-255).
struct TextMask {
  int width = 0, height = 0;
  std::vector<unsigned char> on;
};

TextMask render_text(const std::string& text);
// Draws `mask` in near-black with its top left at (left, top); rotated: reads bottom to top.
void draw(Image& image, const TextMask& mask, int left, int top, bool rotated);
// Atomic (temp file + rename); Error if it cannot be written.
void write_png(const std::string& path, const Image& image);

}  // namespace seqlab
