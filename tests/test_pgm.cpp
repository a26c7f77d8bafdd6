// Tests for PGM reading and writing (P5 and P2, 8 and 16 bits, comments), resizing to the model's
// input size, inversion of dark-on-light drawings, every malformed-file error, and image rendering.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bend/data/pgm.hpp"
#include "bend/plot/terminal_image.hpp"
#include "bend/error.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

struct PgmTempDir {
  fs::path path;
  PgmTempDir() {
    std::random_device seed;
    path = fs::temp_directory_path() / ("bend_test_pgm_" + std::to_string(seed()));
    fs::create_directories(path);
  }
  ~PgmTempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  PgmTempDir(const PgmTempDir&) = delete;
  PgmTempDir& operator=(const PgmTempDir&) = delete;
};

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

void write_bytes(const fs::path& path, const std::string& s) {
  std::ofstream file(path, std::ios::binary);
  file << s;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The message of the IoError that parsing `content` throws ("" if none).
std::string parse_error(const std::string& content) {
  try {
    bend::parse_pgm(bytes_of(content), "digit.pgm");
  } catch (const bend::IoError& e) {
    return e.what();
  }
  return "";
}

std::string p5(int width, int height, int maxval, const std::string& raster) {
  return "P5\n" + std::to_string(width) + " " + std::to_string(height) + "\n" + std::to_string(maxval) +
         "\n" + raster;
}

}  // namespace

TEST_CASE("pgm: write then read gives the same pixels", "[pgm]") {
  PgmTempDir dir;
  std::vector<float> pixels(28 * 28, 0.0f);
  for (int i = 0; i < 200; ++i) pixels[static_cast<std::size_t>(i * 3)] = static_cast<float>(i) / 255.0f;
  const fs::path path = dir.path / "digit.pgm";
  bend::write_pgm(path, pixels.data(), 28, 28);

  const std::string content = read_bytes(path);
  REQUIRE(content.substr(0, 13) == "P5\n28 28\n255\n");
  CHECK(content.size() == 13 + 784);

  const bend::Tensor t = bend::read_pgm(path);
  CHECK(t.shape() == bend::Shape{1, 784});
  CHECK(t.to_vector() == pixels);

  // Out-of-range and NaN values are clamped when written.
  const float odd[4] = {-0.5f, 1.5f, NAN, 0.5f};
  bend::write_pgm(path, odd, 2, 2);
  const std::string small = read_bytes(path);
  CHECK(small == std::string("P5\n2 2\n255\n") + std::string{'\0', '\xff', '\0', '\x80'});
  CHECK_THROWS_AS(bend::write_pgm(path, odd, 0, 2), bend::ValueError);
}

TEST_CASE("pgm: ASCII P2 with comments and an odd maxval", "[pgm]") {
  const std::string p2 =
      "P2\n# a comment after the magic\n3 2 # width height\n# maxval next\n15\n"
      "0 3 15\n# a comment in the raster\n\t7\r\n11 1\n";
  const bend::PgmImage image = bend::parse_pgm(bytes_of(p2), "feep.pgm");
  CHECK(image.width == 3);
  CHECK(image.height == 2);
  CHECK(image.maxval == 15);
  CHECK(image.pixels == std::vector<float>{0.0f, 3.0f / 15, 1.0f, 7.0f / 15, 11.0f / 15, 1.0f / 15});
}

TEST_CASE("pgm: 16-bit P5 samples are big-endian", "[pgm]") {
  const std::string raster = {'\x00', '\x00', '\xff', '\xff', '\x80', '\x00', '\x00', '\x01'};
  const bend::PgmImage image = bend::parse_pgm(bytes_of(p5(2, 2, 65535, raster)), "deep.pgm");
  CHECK(image.maxval == 65535);
  CHECK(image.pixels == std::vector<float>{0.0f, 1.0f, 32768.0f / 65535, 1.0f / 65535});
}

TEST_CASE("pgm: header comment right before the raster, trailing whitespace and a second image", "[pgm]") {
  const std::string raster = {'\x01', '\x02'};
  CHECK(bend::parse_pgm(bytes_of("P5 2 1 255#note\n" + raster), "a.pgm").pixels ==
        std::vector<float>{1.0f / 255, 2.0f / 255});
  CHECK(bend::parse_pgm(bytes_of(p5(2, 1, 255, raster) + "\n\n"), "b.pgm").width == 2);
  CHECK(bend::parse_pgm(bytes_of(p5(2, 1, 255, raster) + p5(1, 1, 255, "x")), "c.pgm").width == 2);
}

TEST_CASE("pgm: every malformed file has its own message naming the file and offset", "[pgm]") {
  const std::string ok_raster(4, '\x10');
  CHECK_THAT(parse_error(""), Contains("digit.pgm") && Contains("bad magic") && Contains("empty"));
  CHECK_THAT(parse_error("GIF89a"),
             Contains("bad magic") && Contains("'G' 'I'") && Contains("byte offset 0"));
  CHECK_THAT(parse_error("P6\n2 2\n255\n"), Contains("bad magic") && Contains("colour PPM"));
  CHECK_THAT(parse_error("P4\n2 2\n"), Contains("bitmap PBM"));
  CHECK_THAT(parse_error("P"), Contains("bad magic"));
  CHECK_THAT(parse_error("P52 2 255\n"), Contains("bad magic") && Contains("followed by '2'"));
  CHECK_THAT(parse_error("P5\n"), Contains("truncated header") && Contains("width"));
  CHECK_THAT(parse_error("P5\n2 # only a width\n"), Contains("truncated header") && Contains("height"));
  CHECK_THAT(parse_error("P5\nab 2 255\n"), Contains("bad header number") && Contains("width") &&
                                                Contains("'a'") && Contains("byte offset 3"));
  CHECK_THAT(parse_error("P5\n2x 2 255\n"), Contains("bad header number") && Contains("followed by 'x'"));
  CHECK_THAT(parse_error("P5\n0 2 255\n"), Contains("width is 0") && Contains("at least 1"));
  CHECK_THAT(parse_error("P5\n2 0 255\n"), Contains("height is 0"));
  CHECK_THAT(parse_error("P5\n99999999999999999999 2 255\n"), Contains("width") && Contains("too large"));
  CHECK_THAT(parse_error("P5\n1000000 1000000 255\n"), Contains("more than"));
  CHECK_THAT(parse_error("P5\n2 2 0\n" + ok_raster), Contains("maxval is 0"));
  CHECK_THAT(parse_error("P5\n2 2 70000\n" + ok_raster),
             Contains("maxval 70000 is too large") && Contains("65535"));
  CHECK_THAT(parse_error("P5\n2 2 255"), Contains("truncated") && Contains("before the pixels"));
  CHECK_THAT(parse_error(p5(2, 2, 255, "abc")),
             Contains("truncated") && Contains("2x2") && Contains("4 bytes of pixels") && Contains("only 3"));
  CHECK_THAT(parse_error(p5(2, 2, 300, ok_raster)), Contains("truncated") && Contains("8 bytes"));
  CHECK_THAT(parse_error(p5(2, 2, 100, std::string{'\x01', '\x02', '\xc8', '\x03'})),
             Contains("sample 200 at row 1, column 0 exceeds maxval 100") && Contains("byte offset 13"));
  CHECK_THAT(parse_error(p5(2, 2, 255, ok_raster + "junk")),
             Contains("size mismatch") && Contains("4 bytes remain"));
  CHECK_THAT(parse_error("P2 2 2 15 1 2 3"),
             Contains("truncated") && Contains("4 values") && Contains("after 3"));
  CHECK_THAT(parse_error("P2 2 2 15 1 2 x 3"), Contains("bad pixel value 2 of 4") && Contains("'x'"));
  CHECK_THAT(parse_error("P2 2 2 15 1 2 3y 4"),
             Contains("bad pixel value 2 of 4") && Contains("followed by 'y'"));
  CHECK_THAT(parse_error("P2 2 2 15 1 2 16 4"), Contains("sample 16 at row 1, column 0 exceeds maxval 15"));
  CHECK_THAT(parse_error("P2 2 2 15 1 2 3 4 5"), Contains("size mismatch") && Contains("2x2 = 4 values"));
  CHECK_THAT(parse_error("P2 1 1 15 99999999999"), Contains("pixel value") && Contains("too large"));

  PgmTempDir dir;
  CHECK_THROWS_AS(bend::read_pgm(dir.path / "missing.pgm"), bend::IoError);
  CHECK_THROWS_WITH(bend::read_pgm(dir.path / "missing.pgm"),
                    Contains("missing.pgm") && Contains("no such file"));
  CHECK_THROWS_WITH(bend::read_pgm(dir.path), Contains("is a directory"));
  write_bytes(dir.path / "bad.pgm", "P5\n2 2 255\nab");
  CHECK_THROWS_WITH(bend::read_pgm(dir.path / "bad.pgm"), Contains("bad.pgm") && Contains("truncated"));
  CHECK_THROWS_AS(bend::read_pgm(dir.path / "bad.pgm", 0, 28), bend::ValueError);
}

TEST_CASE("pgm: resizing by area averaging and bilinear interpolation", "[pgm]") {
  // 56x56 of 2x2 blocks shrinks to exactly the block values.
  std::vector<float> big(56 * 56);
  for (int y = 0; y < 56; ++y)
    for (int x = 0; x < 56; ++x)
      big[static_cast<std::size_t>(y * 56 + x)] = static_cast<float>((y / 2 + x / 2) % 5) / 4;
  const std::vector<float> small = bend::resize_image(big.data(), 56, 56, 28, 28);
  REQUIRE(small.size() == 784);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      CHECK(small[static_cast<std::size_t>(y * 28 + x)] ==
            Approx(static_cast<float>((y + x) % 5) / 4).margin(1e-6));

  // A 3-wide row shrinks to 2 by overlap weights: [a, a/2 + b/2 ... ] with each output covering 1.5 inputs.
  const float row[3] = {0.0f, 0.6f, 0.9f};
  const std::vector<float> two = bend::resize_image(row, 1, 3, 1, 2);
  CHECK(two[0] == Approx((0.0 + 0.5 * 0.6) / 1.5));
  CHECK(two[1] == Approx((0.5 * 0.6 + 0.9) / 1.5));

  // Enlarging keeps constants, is monotonic on a ramp and hits the end values.
  std::vector<float> ramp(14 * 14);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 14; ++x) ramp[static_cast<std::size_t>(y * 14 + x)] = static_cast<float>(x) / 13;
  const std::vector<float> up = bend::resize_image(ramp.data(), 14, 14, 28, 28);
  for (int y = 0; y < 28; ++y) {
    CHECK(up[static_cast<std::size_t>(y * 28)] == Approx(0.0f).margin(1e-6));
    CHECK(up[static_cast<std::size_t>(y * 28 + 27)] == Approx(1.0f).margin(1e-6));
    for (int x = 1; x < 28; ++x)
      CHECK(up[static_cast<std::size_t>(y * 28 + x)] >= up[static_cast<std::size_t>(y * 28 + x - 1)]);
  }
  // Bilinear with aligned centres: output 1 of 2x is at input 0.25.
  const float pair[2] = {0.0f, 1.0f};
  const std::vector<float> four = bend::resize_image(pair, 1, 2, 1, 4);
  CHECK(four == std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f});
  const float one = 0.4f;
  for (float v : bend::resize_image(&one, 1, 1, 5, 3)) CHECK(v == Approx(0.4f));

  // Mixed: wider than tall is squeezed horizontally, stretched vertically.
  std::vector<float> wide(10 * 40, 0.3f);
  for (float v : bend::resize_image(wide.data(), 10, 40, 28, 28)) CHECK(v == Approx(0.3f));
}

TEST_CASE("pgm: read_pgm resizes to the model's size and inverts dark-on-light drawings", "[pgm]") {
  PgmTempDir dir;
  // A 56x56 black stroke on white, as a paint program would save it.
  std::vector<float> drawing(56 * 56, 1.0f);
  for (int y = 10; y < 46; ++y)
    for (int x = 26; x < 30; ++x) drawing[static_cast<std::size_t>(y * 56 + x)] = 0.0f;
  bend::write_pgm(dir.path / "drawn.pgm", drawing.data(), 56, 56);
  const bend::Tensor t = bend::read_pgm(dir.path / "drawn.pgm");
  CHECK(t.shape() == bend::Shape{1, 784});
  CHECK(t.at({0, 0}) == 0.0f);             // background: black after inversion
  CHECK(t.at({0, 14 * 28 + 13}) == 1.0f);  // stroke: white
  CHECK(t.at({0, 14 * 28 + 14}) == 1.0f);
  CHECK(t.at({0, 2 * 28 + 13}) == 0.0f);  // above the stroke

  // Other target sizes.
  const bend::Tensor small = bend::read_pgm(dir.path / "drawn.pgm", 7, 5);
  CHECK(small.shape() == bend::Shape{1, 35});

  // An ASCII file is read the same way; a light-on-dark image is not inverted.
  write_bytes(dir.path / "ascii.pgm", "P2\n2 2\n255\n255 0\n0 0\n");
  CHECK(bend::read_pgm(dir.path / "ascii.pgm", 2, 2).to_vector() ==
        std::vector<float>{1.0f, 0.0f, 0.0f, 0.0f});
}

TEST_CASE("pgm: terminal and ASCII rendering", "[pgm]") {
  const float pixels[6] = {0.0f, 1.0f, 0.5f,   // row 0
                           1.0f, 0.0f, 0.2f};  // row 1
  const std::string tc = bend::render_terminal_image(pixels, 2, 3, true);
  CHECK_THAT(tc, Contains("\x1b[38;2;0;0;0m\x1b[48;2;255;255;255m\u2580"));
  CHECK_THAT(tc, Contains("\x1b[38;2;128;128;128m"));
  CHECK_THAT(tc, Contains("\x1b[48;2;51;51;51m"));
  CHECK(tc.substr(tc.size() - 5) == "\x1b[0m\n");
  CHECK(std::count(tc.begin(), tc.end(), '\n') == 1);

  const std::string palette = bend::render_terminal_image(pixels, 2, 3, false);
  CHECK_THAT(palette, Contains("\x1b[38;5;16m") && Contains("\x1b[48;5;231m") && Contains("\x1b[38;5;244m"));

  // An odd number of rows: the last line has only foreground colours.
  const std::string odd = bend::render_terminal_image(pixels, 1, 3, true);
  CHECK(odd.find("48;2") == std::string::npos);
  CHECK(bend::render_terminal_image(pixels, 0, 0).empty());

  const std::string ascii = bend::render_ascii_image(pixels, 2, 3);
  CHECK(ascii == "  @@++\n@@  ::\n");
  CHECK_THROWS_AS(bend::render_ascii_image(nullptr, 2, 2), bend::ValueError);
  CHECK_THROWS_AS(bend::render_ascii_image(pixels, -1, 2), bend::ValueError);
  // Not a terminal under the test runner (or a terminal): either way a drawing of 2 lines.
  const std::string for_stdout = bend::render_image_for_stdout(pixels, 2, 3);
  CHECK(std::count(for_stdout.begin(), for_stdout.end(), '\n') >= 1);
}

TEST_CASE("pgm: mutated files either parse or throw IoError", "[pgm]") {
  const std::vector<std::string> seeds = {
      p5(3, 2, 255, "abcdef"),
      p5(2, 2, 1000, std::string{'\x01', '\x02', '\x03', '\x04', '\x00', '\x05', '\x03', '\xe8'}),
      "P2\n# c\n3 2\n15\n0 3 15\n7 11 1\n"};
  std::mt19937 gen(1234);
  for (int round = 0; round < 3000; ++round) {
    std::string s = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const int edits = 1 + static_cast<int>(gen() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : gen() % s.size();
      switch (gen() % 3) {
        case 0:
          if (!s.empty()) s[at] = static_cast<char>(gen() % 256);
          break;
        case 1:
          s.insert(at, 1, "0123456789 #\nP5"[gen() % 15]);
          break;
        default:
          s.resize(at);
          break;
      }
    }
    try {
      const bend::PgmImage image = bend::parse_pgm(bytes_of(s), "fuzz.pgm");
      REQUIRE(static_cast<std::int64_t>(image.pixels.size()) == image.width * image.height);
      for (float v : image.pixels) REQUIRE((v >= 0.0f && v <= 1.0f));
    } catch (const bend::IoError& e) {
      REQUIRE_THAT(e.what(), Contains("fuzz.pgm: "));
    }
  }
}

}  // namespace BEND_UNITY_ID
