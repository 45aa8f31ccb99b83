#include "eval/raster.h"

#include <algorithm>
#include <cmath>

#include <fstream>
#include <iterator>

#include <stb_easy_font.h>
#include <stb_image_write.h>
#include <stb_truetype.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/utf8.h"

namespace seqlab {

void Image::line(double x0, double y0, double x1, double y1, const unsigned char* color,
                 int thickness) {
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

namespace {

// DejaVu Sans (Debian's fonts-dejavu-core) through stb_truetype, so labels keep their accents;
// stb_easy_font (ASCII) when the font is not installed.
struct Font {
  std::vector<unsigned char> data;
  stbtt_fontinfo info{};
  bool ok = false;
  Font() {
    for (const char* path : {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                             "/usr/share/fonts/dejavu/DejaVuSans.ttf"}) {
      std::ifstream in(path, std::ios::binary);
      if (!in) continue;
      data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (!data.empty() &&
          stbtt_InitFont(&info, data.data(), stbtt_GetFontOffsetForIndex(data.data(), 0))) {
        ok = true;
        return;
      }
    }
    log_warning("fonts-dejavu-core is not installed: picture labels fall back to an ASCII font");
  }
};

const Font& font() {
  static const Font instance;
  return instance;
}

constexpr float kPixelHeight = 14.0f;

// What stb_easy_font can draw: ASCII, accents removed, others '?'.
std::string ascii_label(const std::string& token) {
  std::string out;
  for (char32_t c : utf8_decode(token)) {
    if (c >= 32 && c < 127) {
      out += static_cast<char>(c);
    } else if (c == 0x2581) {  // SentencePiece word boundary
      out += '_';
    } else if (c >= 0xC0 && c <= 0xFF) {
      static const char* kLatin1 =
          "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
      out += kLatin1[c - 0xC0];
    } else if (c == 0x0153) {
      out += "oe";
    } else if (c == 0x2019) {
      out += '\'';
    } else {
      out += '?';
    }
  }
  return out;
}

TextMask render_easy_font(const std::string& utf8) {
  const std::string text = ascii_label(utf8);
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
          mask.on[static_cast<size_t>(y * mask.width + x)] = 255;
  }
  return mask;
}

}  // namespace

TextMask render_text(const std::string& text) {
  const Font& f = font();
  if (!f.ok) return render_easy_font(text);
  const float scale = stbtt_ScaleForPixelHeight(&f.info, kPixelHeight);
  int ascent = 0, descent = 0, gap = 0;
  stbtt_GetFontVMetrics(&f.info, &ascent, &descent, &gap);
  const int baseline = static_cast<int>(std::ceil(float(ascent) * scale)) + 1;
  const std::u32string codepoints = utf8_decode(text);
  // First pass: the advance of every glyph (with kerning) gives the width.
  std::vector<float> pen(codepoints.size() + 1, 1.0f);
  for (size_t i = 0; i < codepoints.size(); ++i) {
    int advance = 0, bearing = 0;
    stbtt_GetCodepointHMetrics(&f.info, static_cast<int>(codepoints[i]), &advance, &bearing);
    float kern = i + 1 < codepoints.size()
                     ? float(stbtt_GetCodepointKernAdvance(&f.info, static_cast<int>(codepoints[i]),
                                                           static_cast<int>(codepoints[i + 1])))
                     : 0.0f;
    pen[i + 1] = pen[i] + (float(advance) + kern) * scale;
  }
  TextMask mask;
  mask.width = static_cast<int>(std::ceil(pen.back())) + 2;
  mask.height = baseline + static_cast<int>(std::ceil(-float(descent) * scale)) + 2;
  mask.on.assign(static_cast<size_t>(mask.width * mask.height), 0);
  for (size_t i = 0; i < codepoints.size(); ++i) {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    const int cp = static_cast<int>(codepoints[i]);
    stbtt_GetCodepointBitmapBox(&f.info, cp, scale, scale, &x0, &y0, &x1, &y1);
    const int w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0) continue;
    std::vector<unsigned char> glyph(static_cast<size_t>(w * h));
    stbtt_MakeCodepointBitmap(&f.info, glyph.data(), w, h, w, scale, scale, cp);
    const int left = static_cast<int>(std::lround(pen[i])) + x0, top = baseline + y0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int px = left + x, py = top + y;
        if (px < 0 || py < 0 || px >= mask.width || py >= mask.height) continue;
        auto& cell = mask.on[static_cast<size_t>(py * mask.width + px)];
        cell = std::max(cell, glyph[static_cast<size_t>(y * w + x)]);
      }
  }
  return mask;
}

void draw(Image& image, const TextMask& mask, int left, int top, bool rotated) {
  // The mask is coverage (0-255): blend near-black text over what is there.
  for (int y = 0; y < mask.height; ++y)
    for (int x = 0; x < mask.width; ++x) {
      const int a = mask.on[static_cast<size_t>(y * mask.width + x)];
      if (!a) continue;
      const int px = rotated ? left + y : left + x;  // rotated: 90 degrees counter-clockwise
      const int py = rotated ? top + (mask.width - 1 - x) : top + y;
      if (px < 0 || py < 0 || px >= image.width || py >= image.height) continue;
      auto* p = &image.rgb[static_cast<size_t>((py * image.width + px) * 3)];
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<unsigned char>((p[c] * (255 - a) + 20 * a) / 255);
    }
}

void write_png(const std::string& path, const Image& image) {
  write_atomic_with(path, [&](const std::string& tmp) {
    if (!stbi_write_png(tmp.c_str(), image.width, image.height, 3, image.rgb.data(),
                        image.width * 3))
      throw Error("cannot write PNG " + tmp);
  });
}

}  // namespace seqlab
