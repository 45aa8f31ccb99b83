#include "eval/raster.h"

#include <algorithm>
#include <cmath>

#include <stb_easy_font.h>
#include <stb_image_write.h>

#include "core/error.h"
#include "core/files.h"

namespace seqlab {

void Image::line(double x0, double y0, double x1, double y1, const unsigned char* color, int thickness) {
  const double length = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  const int steps = std::max(1, static_cast<int>(std::ceil(length)));
  for (int i = 0; i <= steps; ++i) {
    const double t = double(i) / double(steps);
    const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
    const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
    for (int dy = -(thickness - 1) / 2; dy <= thickness / 2; ++dy)
      for (int dx = -(thickness - 1) / 2; dx <= thickness / 2; ++dx)
        set(x + dx, y + dy, color[0], color[1], color[2]);
  }
}

TextMask render_text(const std::string& text) {
  std::vector<char> buffer(text.begin(), text.end());
  buffer.push_back('\0');
  TextMask mask;
  mask.width = stb_easy_font_width(buffer.data()) * kTextScale + 2;
  mask.height = stb_easy_font_height(buffer.data()) * kTextScale + 2;
  mask.on.assign(static_cast<size_t>(mask.width * mask.height), 0);
  std::vector<float> vertices(text.size() * 270 + 64);  // 16 bytes per vertex, 4 per quad
  int quads = stb_easy_font_print(0, 0, buffer.data(), nullptr, vertices.data(),
                                  static_cast<int>(vertices.size() * sizeof(float)));
  for (int q = 0; q < quads; ++q) {
    const float* v = &vertices[static_cast<size_t>(q * 16)];  // 4 vertices of (x, y, z, color)
    int x0 = static_cast<int>(v[0]) * kTextScale, y0 = static_cast<int>(v[1]) * kTextScale;
    int x1 = static_cast<int>(v[8]) * kTextScale, y1 = static_cast<int>(v[9]) * kTextScale;
    for (int y = std::min(y0, y1); y < std::max(y0, y1); ++y)
      for (int x = std::min(x0, x1); x < std::max(x0, x1); ++x)
        if (x >= 0 && y >= 0 && x < mask.width && y < mask.height)
          mask.on[static_cast<size_t>(y * mask.width + x)] = 1;
  }
  return mask;
}

void draw(Image& image, const TextMask& mask, int left, int top, bool rotated) {
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x)
      if (mask.on[static_cast<size_t>(y * mask.width + x)]) {
        if (rotated)  // 90 degrees counter-clockwise: reads bottom to top
          image.set(left + y, top + (mask.width - 1 - x), 20, 20, 20);
        else
          image.set(left + x, top + y, 20, 20, 20);
      }
}

void write_png(const std::string& path, const Image& image) {
  write_atomic_with(path, [&](const std::string& tmp) {
    if (!stbi_write_png(tmp.c_str(), image.width, image.height, 3, image.rgb.data(), image.width * 3))
      throw Error("cannot write PNG " + tmp);
  });
}

}  // namespace seqlab
