// Grayscale images drawn in a terminal: 24-bit or 256-colour half blocks, or an ASCII ramp (see
// bend/plot/terminal_image.hpp).
#include "bend/plot/terminal_image.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {
namespace {

void check_image_arguments(const char* what, const float* pixels, std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < 0)
    throw ValueError(
        fmt::format("{}: image size {}x{} is invalid (rows and cols must be >= 0)", what, rows, cols));
  if (pixels == nullptr && rows * cols > 0) throw ValueError(fmt::format("{}: pixels is null", what));
}

// [0, 1] (clamped; NaN as 0) to 0..255.
int gray_level(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 1.0f) return 255;
  return static_cast<int>(std::lround(v * 255.0f));
}

// The xterm 256-colour index closest to gray level g: black (16), the ramp 232..255 (8, 18, .., 238)
// or white (231).
int gray_palette_index(int g) {
  int best_index = 16, best_distance = g;
  for (int k = 0; k < 24; ++k) {
    const int d = std::abs(g - (8 + 10 * k));
    if (d < best_distance) best_distance = d, best_index = 232 + k;
  }
  if (255 - g < best_distance) best_index = 231;
  return best_index;
}

std::string colour_code(int g, bool background, bool true_color) {
  if (true_color) return fmt::format("\x1b[{};2;{};{};{}m", background ? 48 : 38, g, g, g);
  return fmt::format("\x1b[{};5;{}m", background ? 48 : 38, gray_palette_index(g));
}

}  // namespace

std::string render_terminal_image(const float* pixels, std::int64_t rows, std::int64_t cols,
                                  bool true_color) {
  check_image_arguments("render_terminal_image", pixels, rows, cols);
  std::string out;
  for (std::int64_t y = 0; y < rows; y += 2) {
    int last_top = -1, last_bottom = -1;  // skip repeating the colours of the previous cell
    for (std::int64_t x = 0; x < cols; ++x) {
      const int top = gray_level(pixels[y * cols + x]);
      if (top != last_top) out += colour_code(top, false, true_color);
      if (y + 1 < rows) {
        const int bottom = gray_level(pixels[(y + 1) * cols + x]);
        if (bottom != last_bottom) out += colour_code(bottom, true, true_color);
        last_bottom = bottom;
      }
      last_top = top;
      out += "\u2580";  // upper half block
    }
    out += "\x1b[0m\n";
  }
  return out;
}

std::string render_ascii_image(const float* pixels, std::int64_t rows, std::int64_t cols) {
  check_image_arguments("render_ascii_image", pixels, rows, cols);
  static constexpr std::string_view kRamp = " .:-=+*#%@";
  std::string out;
  out.reserve(static_cast<std::size_t>(rows * (2 * cols + 1)));
  for (std::int64_t y = 0; y < rows; ++y) {
    for (std::int64_t x = 0; x < cols; ++x) {
      const int level = gray_level(pixels[y * cols + x]);
      const char c = kRamp[static_cast<std::size_t>((level * 9 + 127) / 255)];
      out += c;
      out += c;
    }
    out += '\n';
  }
  return out;
}

std::string render_image_for_stdout(const float* pixels, std::int64_t rows, std::int64_t cols) {
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  const bool colour = isatty(STDOUT_FILENO) == 1 && term != nullptr && std::string_view(term) != "dumb" &&
                      std::string_view(term) != "" && (no_color == nullptr || *no_color == '\0');
  if (!colour) return render_ascii_image(pixels, rows, cols);
  const char* colorterm = std::getenv("COLORTERM");
  const bool true_color = colorterm != nullptr && (std::string_view(colorterm) == "truecolor" ||
                                                   std::string_view(colorterm) == "24bit");
  return render_terminal_image(pixels, rows, cols, true_color);
}

}  // namespace bend
