#pragma once
// Drawing a grayscale image in a terminal (part of bend::report): `bend predict` shows the digit it
// classifies this way.
#include <cstdint>
#include <string>

namespace bend {

// Draws a grayscale image ([0, 1], clamped) for a colour terminal: each text line holds two pixel
// rows as Unicode upper half blocks, the top pixel in the foreground colour and the bottom one in the
// background colour; every line ends with an attribute reset and '\n'. true_color selects 24-bit
// colours (ESC[38;2;r;g;bm); otherwise the 256-colour palette's gray ramp (and its black and white).
std::string render_terminal_image(const float* pixels, std::int64_t rows, std::int64_t cols,
                                  bool true_color = true);

// Plain-text rendering for logs and non-terminals: one character from the ramp " .:-=+*#%@" per
// pixel, printed twice so the image keeps its proportions (text cells are about twice as tall as
// wide); one line per pixel row, each ending in '\n'.
std::string render_ascii_image(const float* pixels, std::int64_t rows, std::int64_t cols);

// render_terminal_image when standard output is a terminal that takes colours (TERM set and not
// "dumb", NO_COLOR unset), with 24-bit colour when COLORTERM says truecolor/24bit; else
// render_ascii_image.
std::string render_image_for_stdout(const float* pixels, std::int64_t rows, std::int64_t cols);

}  // namespace bend
