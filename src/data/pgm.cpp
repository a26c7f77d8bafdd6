// PGM reading (P5 binary and P2 ASCII, with validation), resizing to the model's input size, and
// atomic P5 writing. (Drawing images in a terminal is bend::report's: src/plot/terminal_image.cpp.)
#include "bend/data/pgm.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/read_file.hpp"

namespace bend {
namespace {

// Large enough for any photo, small enough that a corrupt header cannot ask for absurd memory.
constexpr std::uint64_t kMaxSide = 1u << 20;
constexpr std::uint64_t kMaxPixels = 1u << 28;

bool is_space(std::uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(std::uint8_t c) { return c >= '0' && c <= '9'; }

// A byte for an error message: itself when printable, else its hex code.
std::string describe_byte(std::uint8_t c) {
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
  return fmt::format("byte 0x{:02x}", c);
}

// Walks the bytes of a PGM, producing errors that name the file and the offset.
class PgmParser {
 public:
  PgmParser(std::span<const std::uint8_t> bytes, std::string_view name) : bytes_(bytes), name_(name) {}

  PgmImage parse() {
    const bool binary = read_magic();
    PgmImage image;
    image.width = static_cast<std::int64_t>(read_header_number("width", 1, kMaxSide));
    image.height = static_cast<std::int64_t>(read_header_number("height", 1, kMaxSide));
    const std::uint64_t pixel_count =
        static_cast<std::uint64_t>(image.width) * static_cast<std::uint64_t>(image.height);
    if (pixel_count > kMaxPixels)
      fail(pos_, fmt::format("bad header: {}x{} is {} pixels, more than the {} this reader accepts",
                             image.width, image.height, pixel_count, kMaxPixels));
    image.maxval = static_cast<std::uint32_t>(read_header_number("maxval", 1, 65535));
    if (binary)
      read_binary_raster(image);
    else
      read_ascii_raster(image);
    return image;
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw IoError(fmt::format("{}: {} (byte offset {})", name_, what, offset));
  }

  bool at_end() const { return pos_ >= bytes_.size(); }

  // Returns true for P5, false for P2.
  bool read_magic() {
    if (bytes_.empty()) fail(0, "bad magic: the file is empty, not a PGM image");
    if (bytes_.size() < 2 || bytes_[0] != 'P' || !(bytes_[1] == '5' || bytes_[1] == '2')) {
      std::string found = bytes_.size() >= 2 ? describe_byte(bytes_[0]) + " " + describe_byte(bytes_[1])
                                             : describe_byte(bytes_[0]);
      std::string hint;
      if (bytes_.size() >= 2 && bytes_[0] == 'P' && (bytes_[1] == '6' || bytes_[1] == '3'))
        hint = "; this is a colour PPM, convert it to grayscale PGM";
      else if (bytes_.size() >= 2 && bytes_[0] == 'P' && (bytes_[1] == '4' || bytes_[1] == '1'))
        hint = "; this is a bitmap PBM, convert it to PGM";
      fail(0, fmt::format("bad magic: expected \"P5\" (binary PGM) or \"P2\" (ASCII PGM), found {}{}", found,
                          hint));
    }
    pos_ = 2;
    if (!at_end() && !is_space(bytes_[pos_]) && bytes_[pos_] != '#')
      fail(pos_, fmt::format("bad magic: \"P{}\" is followed by {} instead of whitespace",
                             static_cast<char>(bytes_[1]), describe_byte(bytes_[pos_])));
    return bytes_[1] == '5';
  }

  void skip_space_and_comments() {
    while (!at_end()) {
      if (is_space(bytes_[pos_])) {
        ++pos_;
      } else if (bytes_[pos_] == '#') {
        while (!at_end() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
      } else {
        break;
      }
    }
  }

  // Digits at pos_ as a number (at most `limit`, or fail with `too_large`); pos_ moves past them.
  std::uint64_t read_digits(std::uint64_t limit, const char* what) {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (!at_end() && is_digit(bytes_[pos_])) {
      value = value * 10 + (bytes_[pos_] - '0');
      ++pos_;
      if (value > limit) {
        while (!at_end() && is_digit(bytes_[pos_])) ++pos_;
        fail(start,
             fmt::format("{} {} is too large (at most {})", what,
                         std::string_view(reinterpret_cast<const char*>(bytes_.data()) + start, pos_ - start),
                         limit));
      }
    }
    return value;
  }

  std::uint64_t read_header_number(const char* what, std::uint64_t min, std::uint64_t max) {
    skip_space_and_comments();
    if (at_end())
      fail(pos_, fmt::format("truncated header: expected the {}, found the end of the file", what));
    if (!is_digit(bytes_[pos_]))
      fail(pos_, fmt::format("bad header number: expected the {} as a decimal number, found {}", what,
                             describe_byte(bytes_[pos_])));
    const std::size_t start = pos_;
    const std::uint64_t value = read_digits(max, fmt::format("bad header number: {}", what).c_str());
    if (value < min)
      fail(start, fmt::format("bad header number: {} is {}, must be at least {}", what, value, min));
    if (!at_end() && !is_space(bytes_[pos_]) && bytes_[pos_] != '#')
      fail(pos_, fmt::format("bad header number: the {} is followed by {} instead of whitespace", what,
                             describe_byte(bytes_[pos_])));
    return value;
  }

  [[noreturn]] void sample_too_large(const PgmImage& image, std::size_t index, std::uint64_t value,
                                     std::size_t offset) const {
    fail(offset, fmt::format("sample {} at row {}, column {} exceeds maxval {}", value,
                             static_cast<std::int64_t>(index) / image.width,
                             static_cast<std::int64_t>(index) % image.width, image.maxval));
  }

  void read_binary_raster(PgmImage& image) {
    // The header ends with one whitespace byte (a comment may come before it).
    if (!at_end() && bytes_[pos_] == '#') {
      while (!at_end() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
    }
    if (at_end()) fail(pos_, "truncated: the file ends after the header, before the pixels");
    ++pos_;  // the single whitespace byte (checked by read_header_number)

    const std::size_t count = static_cast<std::size_t>(image.width * image.height);
    const std::size_t bytes_per_sample = image.maxval > 255 ? 2 : 1;
    const std::size_t needed = count * bytes_per_sample;
    const std::size_t available = bytes_.size() - pos_;
    if (available < needed)
      fail(bytes_.size(),
           fmt::format(
               "truncated: the header says {}x{} with maxval {} ({} bytes of pixels from byte offset {}) "
               "but only {} bytes follow",
               image.width, image.height, image.maxval, needed, pos_, available));
    image.pixels.resize(count);
    const auto maxval = static_cast<float>(image.maxval);
    const std::uint8_t* raster = bytes_.data() + pos_;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t v = bytes_per_sample == 2 ? (std::uint32_t{raster[2 * i]} << 8) | raster[2 * i + 1]
                                                    : std::uint32_t{raster[i]};
      if (v > image.maxval) sample_too_large(image, i, v, pos_ + i * bytes_per_sample);
      image.pixels[i] = static_cast<float>(v) / maxval;
    }
    pos_ += needed;
    // More bytes may be a further image of a multi-image file; anything else (but trailing whitespace)
    // means the header's size does not describe the file.
    if (!at_end() && bytes_[pos_] != 'P') {
      std::size_t k = pos_;
      while (k < bytes_.size() && is_space(bytes_[k])) ++k;
      if (k < bytes_.size())
        fail(pos_,
             fmt::format("size mismatch: {} bytes remain after the {}x{} raster; the header's width and "
                         "height do not match the file",
                         bytes_.size() - pos_, image.width, image.height));
    }
  }

  void read_ascii_raster(PgmImage& image) {
    const std::size_t count = static_cast<std::size_t>(image.width * image.height);
    // Every value takes at least one byte, so this never reserves more than the file could hold.
    image.pixels.reserve(std::min(count, bytes_.size() - pos_));
    const auto maxval = static_cast<float>(image.maxval);
    for (std::size_t i = 0; i < count; ++i) {
      skip_space_and_comments();
      if (at_end())
        fail(pos_, fmt::format("truncated: the header says {}x{} = {} values but the file ends after {}",
                               image.width, image.height, count, i));
      if (!is_digit(bytes_[pos_]))
        fail(pos_, fmt::format("bad pixel value {} of {}: expected a decimal number, found {}", i, count,
                               describe_byte(bytes_[pos_])));
      const std::size_t start = pos_;
      const std::uint64_t v = read_digits(UINT32_MAX, "pixel value");
      if (v > image.maxval) sample_too_large(image, i, v, start);
      if (!at_end() && !is_space(bytes_[pos_]) && bytes_[pos_] != '#')
        fail(pos_, fmt::format("bad pixel value {} of {}: the number is followed by {}", i, count,
                               describe_byte(bytes_[pos_])));
      image.pixels.push_back(static_cast<float>(v) / maxval);
    }
    skip_space_and_comments();
    if (!at_end())
      fail(pos_, fmt::format("size mismatch: more data after the {}x{} = {} values the header announces",
                             image.width, image.height, count));
  }

  std::span<const std::uint8_t> bytes_;
  std::string_view name_;
  std::size_t pos_ = 0;
};

// Weights of one output sample over a contiguous run of input samples.
struct Taps {
  std::int64_t first = 0;
  std::vector<double> weights;
};

// Per-output taps resampling n_in samples to n_out: area averaging when shrinking, bilinear (pixel
// centres aligned) when enlarging.
std::vector<Taps> resampling_taps(std::int64_t n_in, std::int64_t n_out) {
  std::vector<Taps> taps(static_cast<std::size_t>(n_out));
  if (n_in == n_out) {
    for (std::int64_t j = 0; j < n_out; ++j) taps[static_cast<std::size_t>(j)] = {j, {1.0}};
  } else if (n_out < n_in) {
    const double span = static_cast<double>(n_in) / static_cast<double>(n_out);
    for (std::int64_t j = 0; j < n_out; ++j) {
      const double lo = static_cast<double>(j) * span, hi = static_cast<double>(j + 1) * span;
      const auto first = static_cast<std::int64_t>(std::floor(lo));
      const auto last = std::min(n_in - 1, static_cast<std::int64_t>(std::ceil(hi)) - 1);
      Taps& t = taps[static_cast<std::size_t>(j)];
      t.first = first;
      for (std::int64_t i = first; i <= last; ++i) {
        const double overlap =
            std::min(static_cast<double>(i + 1), hi) - std::max(static_cast<double>(i), lo);
        t.weights.push_back(std::max(0.0, overlap) / span);
      }
    }
  } else {
    const double step = static_cast<double>(n_in) / static_cast<double>(n_out);
    for (std::int64_t j = 0; j < n_out; ++j) {
      const double x =
          std::clamp((static_cast<double>(j) + 0.5) * step - 0.5, 0.0, static_cast<double>(n_in - 1));
      const auto i0 = static_cast<std::int64_t>(std::floor(x));
      const double t = x - static_cast<double>(i0);
      Taps& tap = taps[static_cast<std::size_t>(j)];
      tap.first = i0;
      tap.weights = i0 + 1 < n_in ? std::vector<double>{1.0 - t, t} : std::vector<double>{1.0};
    }
  }
  return taps;
}

void check_image_arguments(const char* what, const float* pixels, std::int64_t rows, std::int64_t cols,
                           bool allow_empty) {
  const std::int64_t min = allow_empty ? 0 : 1;
  if (rows < min || cols < min)
    throw ValueError(
        fmt::format("{}: image size {}x{} is invalid (rows and cols must be >= {})", what, rows, cols, min));
  if (pixels == nullptr && rows * cols > 0) throw ValueError(fmt::format("{}: pixels is null", what));
}

int gray_level(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 1.0f) return 255;
  return static_cast<int>(std::lround(v * 255.0f));
}

}  // namespace

PgmImage parse_pgm(std::span<const std::uint8_t> bytes, std::string_view name_for_errors) {
  return PgmParser(bytes, name_for_errors).parse();
}

std::vector<float> resize_image(const float* pixels, std::int64_t height, std::int64_t width,
                                std::int64_t rows, std::int64_t cols) {
  check_image_arguments("resize_image (source)", pixels, height, width, false);
  check_image_arguments("resize_image (target)", pixels, rows, cols, false);
  if (height == rows && width == cols) return {pixels, pixels + rows * cols};
  // Separable: along each row first (height x cols), then along each column (rows x cols).
  const std::vector<Taps> across = resampling_taps(width, cols), down = resampling_taps(height, rows);
  std::vector<double> wide(static_cast<std::size_t>(height * cols));
  for (std::int64_t y = 0; y < height; ++y) {
    const float* in = pixels + y * width;
    for (std::int64_t x = 0; x < cols; ++x) {
      const Taps& t = across[static_cast<std::size_t>(x)];
      double sum = 0.0;
      for (std::size_t k = 0; k < t.weights.size(); ++k)
        sum += t.weights[k] * in[t.first + static_cast<std::int64_t>(k)];
      wide[static_cast<std::size_t>(y * cols + x)] = sum;
    }
  }
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t y = 0; y < rows; ++y) {
    const Taps& t = down[static_cast<std::size_t>(y)];
    for (std::int64_t x = 0; x < cols; ++x) {
      double sum = 0.0;
      for (std::size_t k = 0; k < t.weights.size(); ++k)
        sum += t.weights[k] *
               wide[static_cast<std::size_t>((t.first + static_cast<std::int64_t>(k)) * cols + x)];
      out[static_cast<std::size_t>(y * cols + x)] = std::clamp(static_cast<float>(sum), 0.0f, 1.0f);
    }
  }
  return out;
}

Tensor read_pgm(const std::filesystem::path& path, std::int64_t rows, std::int64_t cols) {
  if (rows < 1 || cols < 1)
    throw ValueError(fmt::format("read_pgm: {}: target size {}x{} is invalid", path.string(), rows, cols));
  const std::vector<std::uint8_t> bytes = read_regular_file(path, "a PGM image");
  const PgmImage image = parse_pgm(bytes, path.string());
  std::vector<float> pixels = resize_image(image.pixels.data(), image.height, image.width, rows, cols);
  double sum = 0.0;
  for (float v : pixels) sum += v;
  // A light background means a dark drawing; MNIST digits are light on dark.
  if (sum / static_cast<double>(pixels.size()) > 0.5)
    for (float& v : pixels) v = 1.0f - v;
  return Tensor::from(std::span<const float>(pixels), Shape{1, rows * cols});
}

void write_pgm(const std::filesystem::path& path, const float* pixels, std::int64_t rows, std::int64_t cols) {
  check_image_arguments("write_pgm", pixels, rows, cols, false);
  std::string content = fmt::format("P5\n{} {}\n255\n", cols, rows);
  const std::size_t header = content.size();
  content.resize(header + static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows * cols; ++i)
    content[header + static_cast<std::size_t>(i)] = static_cast<char>(gray_level(pixels[i]));
  write_file_atomically(path, content);
}

}  // namespace bend
