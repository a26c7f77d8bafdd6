#pragma once
// PGM (portable graymap) images in and out, for classifying a digit you drew and exporting a test
// digit. Drawing an image in the terminal is in bend/plot/terminal_image.hpp (bend::report).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/tensor.hpp"

namespace bend {

// A decoded PGM image: samples scaled to [0, 1] (sample / maxval), row-major, 0 = black.
struct PgmImage {
  std::int64_t width = 0, height = 0;
  std::uint32_t maxval = 0;
  std::vector<float> pixels;  // height * width
};

// Parses the first image of a binary (P5) or ASCII (P2) PGM held in memory. Accepts '#' comments
// in the header (and between P2 samples) and maxval 1..65535 (two big-endian bytes per sample in P5
// when maxval > 255). Throws bend::IoError whose message starts with name_for_errors and says what
// is wrong and at which byte offset: bad magic, a missing or malformed header number, zero or
// oversized dimensions, maxval out of range, a sample above maxval, a truncated raster, or data
// left over that does not match the header (extra P2 values; P5 bytes after the raster that do not
// start another image, since P5 files may hold a sequence of images).
PgmImage parse_pgm(std::span<const std::uint8_t> bytes, std::string_view name_for_errors);

// Reads a PGM file as a model input: returns [1, rows*cols] floats in [0, 1].
// - An image that is not rows x cols is resized to exactly rows x cols (the aspect ratio is not
//   kept), per axis by area averaging when shrinking and bilinear interpolation when enlarging.
// - MNIST digits are white on black. If the image's mean is above 0.5 it is taken to be a dark
//   drawing on a light background and inverted (x -> 1 - x), so both kinds of drawing work.
// Throws bend::IoError naming the file when it cannot be read or is malformed (see parse_pgm), and
// bend::ValueError when rows or cols is < 1.
Tensor read_pgm(const std::filesystem::path& path, std::int64_t rows = 28, std::int64_t cols = 28);

// Resizes a row-major height x width image to rows x cols (area averaging per shrinking axis,
// bilinear per enlarging axis, a copy when the sizes agree).
std::vector<float> resize_image(const float* pixels, std::int64_t height, std::int64_t width,
                                std::int64_t rows, std::int64_t cols);

// Writes rows x cols pixels in [0, 1] (clamped; NaN as 0) as a binary P5 PGM with maxval 255,
// atomically (bend::write_file_atomically). Throws bend::ValueError for empty sizes, bend::IoError
// when the file cannot be written.
void write_pgm(const std::filesystem::path& path, const float* pixels, std::int64_t rows, std::int64_t cols);

}  // namespace bend
