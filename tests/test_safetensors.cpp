// Tests for the safetensors reader and writer: bit-exact round trips, the exact byte layout, one
// distinct error per kind of corruption, a mutation fuzz loop, atomic saves, and (when PyTorch is
// installed) loading our files in PyTorch.
#include "build_paths.hpp"
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/safetensors.hpp"

#include "requirements.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

using bend::testing::FileSizeLimit;
using bend::testing::ScratchDir;

constexpr const char* kName = "test.safetensors";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// A file with this exact header (no padding added) followed by `data`.
std::string file_with_header(std::string_view header, std::string_view data) {
  return u64_le(header.size()) + std::string(header) + std::string(data);
}

std::string f32_bytes(std::initializer_list<float> values) {
  std::string bytes;
  for (float value : values) bytes.append(reinterpret_cast<const char*>(&value), sizeof value);
  return bytes;
}

bend::SafetensorsFile parse(const std::string& bytes) {
  return bend::parse_safetensors(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
      kName);
}

bool same_bits(const std::vector<float>& a, const float* b, std::size_t count) {
  return a.size() == count && (count == 0 || std::memcmp(a.data(), b, count * sizeof(float)) == 0);
}

std::vector<float> random_floats(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(count);
  for (float& v : values) v = normal(rng);
  return values;
}

// Values whose bits a careless copy would change.
std::vector<float> special_floats() {
  return {0.0f,
          -0.0f,
          std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity(),
          std::bit_cast<float>(0x7fc12345u),  // quiet NaN with a payload
          std::bit_cast<float>(0xffa00001u),  // negative signalling-pattern NaN
          std::numeric_limits<float>::denorm_min(),
          std::numeric_limits<float>::min(),
          std::numeric_limits<float>::max(),
          -1.0f / 3.0f};
}

}  // namespace

TEST_CASE("safetensors round trip is bit-exact and keeps order, shapes and metadata", "[io][safetensors]") {
  std::vector<float> weight = random_floats(256 * 784, 1);
  const std::vector<float> specials = special_floats();
  std::copy(specials.begin(), specials.end(), weight.begin());
  const std::vector<float> bias = random_floats(256, 2);
  const std::vector<float> scalar = {std::bit_cast<float>(0x7fc00001u)};
  const std::vector<float> cube = random_floats(2 * 3 * 4, 3);

  const std::vector<std::int64_t> weight_shape{256, 784}, bias_shape{256}, empty_shape{3, 0, 2},
      cube_shape{2, 3, 4};
  const std::vector<std::int64_t> empty_1d{0};
  const std::vector<bend::SafetensorsView> views{
      {"0.weight", weight_shape, weight.data()},
      {"0.bias", bias_shape, bias.data()},
      {"empty", empty_shape, nullptr},  // empty tensors may share an offset with their neighbours
      {"also empty", empty_1d, nullptr},
      {"scalar", {}, scalar.data()},  // 0-d: one value
      {"naïve \"quoted\" \\ name", cube_shape, cube.data()},
  };
  const std::map<std::string, std::string> metadata{
      {"format", "pt"}, {"arch", "784-256-10"}, {"empty", ""}, {"unicode", "grüße ✓"}, {"newline", "a\nb"}};

  const auto check = [&](const bend::SafetensorsFile& file) {
    REQUIRE(file.tensors.size() == views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
      INFO("tensor " << views[i].name);
      const bend::SafetensorsTensor& tensor = file.tensors[i];
      CHECK(tensor.name == views[i].name);
      CHECK(tensor.shape == std::vector<std::int64_t>(views[i].shape.begin(), views[i].shape.end()));
      std::size_t numel = 1;
      for (auto d : views[i].shape) numel *= static_cast<std::size_t>(d);
      CHECK(same_bits(tensor.data, views[i].data, numel));
    }
    CHECK(file.metadata == metadata);
    REQUIRE(file.find("0.bias") != nullptr);
    CHECK(file.find("0.bias")->shape == bias_shape);
    CHECK(file.find("scalar")->shape.empty());
    CHECK(file.find("scalar")->data.size() == 1);
    CHECK(file.find("missing") == nullptr);
  };

  const std::string bytes = bend::serialize_safetensors(views, metadata);
  check(parse(bytes));

  ScratchDir dir;
  const fs::path path = dir.path() / "model.safetensors";
  bend::save_safetensors(path, views, metadata);
  CHECK(read_bytes(path) == bytes);
  check(bend::load_safetensors(path));
}

TEST_CASE("safetensors round trip of a large tensor", "[io][safetensors]") {
  const std::vector<float> big = random_floats(std::size_t{1} << 22, 7);  // 16 MiB
  const std::vector<std::int64_t> shape{1024, 4096};
  const std::vector<bend::SafetensorsView> views{{"big", shape, big.data()}};
  ScratchDir dir;
  bend::save_safetensors(dir.path() / "big.safetensors", views, {});
  const bend::SafetensorsFile file = bend::load_safetensors(dir.path() / "big.safetensors");
  REQUIRE(file.tensors.size() == 1);
  CHECK(same_bits(file.tensors[0].data, big.data(), big.size()));
  CHECK(file.metadata.empty());
}

TEST_CASE("safetensors files have the byte layout of the format", "[io][safetensors]") {
  const std::vector<float> values{0, 1, 2, 3, 4, 5};
  const std::string data = f32_bytes({0, 1, 2, 3, 4, 5});

  SECTION("header already a multiple of 8 bytes: no padding") {
    const std::vector<std::int64_t> shape{1, 2, 3};
    const std::vector<bend::SafetensorsView> views{{"attn.0", shape, values.data()}};
    const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(header.size() == 64);
    const std::string expected = std::string("\x40\0\0\0\0\0\0\0", 8) + header + data;
    CHECK(bend::serialize_safetensors(views, {}) == expected);
  }
  SECTION("header padded with spaces to 8-byte alignment") {
    const std::vector<std::int64_t> shape{1, 1, 2, 3};
    const std::vector<bend::SafetensorsView> views{{"attn0", shape, values.data()}};
    const std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(header.size() == 65);
    const std::string expected = std::string("\x48\0\0\0\0\0\0\0", 8) + header + "       " + data;
    CHECK(bend::serialize_safetensors(views, {}) == expected);
  }
  SECTION("no tensors, with and without metadata") {
    CHECK(bend::serialize_safetensors({}, {}) == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    const std::string header = R"({"__metadata__":{"framework":"pt"}})";
    CHECK(bend::serialize_safetensors({}, {{"framework", "pt"}}) ==
          std::string("\x28\0\0\0\0\0\0\0", 8) + header + "     ");
    CHECK(parse(bend::serialize_safetensors({}, {{"framework", "pt"}})).metadata.at("framework") == "pt");
  }
  SECTION("two tensors: metadata first, offsets in the order given") {
    const std::vector<std::int64_t> b_shape{2}, a_shape{1};
    const std::vector<bend::SafetensorsView> views{{"b", b_shape, values.data()},
                                                   {"a", a_shape, values.data() + 5}};
    const std::string bytes = bend::serialize_safetensors(views, {{"k", "v"}});
    const std::string header =
        R"({"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    const std::size_t padded = (header.size() + 7) / 8 * 8;
    CHECK(bytes.substr(0, 8) == u64_le(padded));
    CHECK(bytes.substr(8, padded) == header + std::string(padded - header.size(), ' '));
    CHECK(bytes.substr(8 + padded) == f32_bytes({0, 1, 5}));
  }
}

TEST_CASE("safetensors reader accepts what the format allows", "[io][safetensors]") {
  SECTION("entries listed out of offset order come back in offset order") {
    const std::string header = R"({"second":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                               R"("first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    const auto file = parse(file_with_header(header, f32_bytes({1, 2})));
    REQUIRE(file.tensors.size() == 2);
    CHECK(file.tensors[0].name == "first");
    CHECK(file.tensors[0].data == std::vector<float>{1});
    CHECK(file.tensors[1].name == "second");
    CHECK(file.tensors[1].data == std::vector<float>{2});
  }
  SECTION("whitespace padding, unknown fields and null metadata") {
    const std::string header =
        " \n{\"__metadata__\": null, \"t\": {\"data_offsets\": [0, 4], \"shape\": [], \"dtype\": \"F32\", "
        "\"extra\": {\"ignored\": [1, 2]}}}   \t\n";
    const auto file = parse(file_with_header(header, f32_bytes({-7.5f})));
    REQUIRE(file.tensors.size() == 1);
    CHECK(file.tensors[0].shape.empty());
    CHECK(file.tensors[0].data == std::vector<float>{-7.5f});
    CHECK(file.metadata.empty());
  }
  SECTION("F16, BF16 and F64 are converted to float") {
    std::string data;
    const std::uint16_t halves[] = {0x3c00, 0xc000, 0x7c00, 0x0001, 0x8000, 0x7bff, 0x3555};
    for (std::uint16_t h : halves) data.append(reinterpret_cast<const char*>(&h), 2);
    const std::uint16_t bf16s[] = {0x3f80, 0xc049};
    for (std::uint16_t h : bf16s) data.append(reinterpret_cast<const char*>(&h), 2);
    const double doubles[] = {1.5, -0.1};
    for (double d : doubles) data.append(reinterpret_cast<const char*>(&d), 8);
    const std::string header = R"({"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},)"
                               R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[14,18]},)"
                               R"("d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]}})";
    const auto file = parse(file_with_header(header, data));
    const auto& h = file.find("h")->data;
    CHECK(h[0] == 1.0f);
    CHECK(h[1] == -2.0f);
    CHECK(h[2] == std::numeric_limits<float>::infinity());
    CHECK(h[3] == std::ldexp(1.0f, -24));
    CHECK(std::signbit(h[4]));
    CHECK(h[4] == 0.0f);
    CHECK(h[5] == 65504.0f);
    CHECK(h[6] == 0.333251953125f);
    CHECK(file.find("b")->data == std::vector<float>{1.0f, -3.140625f});
    CHECK(file.find("d")->data == std::vector<float>{1.5f, static_cast<float>(-0.1)});
  }
}

namespace {
struct CorruptCase {
  const char* what;
  std::string bytes;
  const char* message;  // the distinctive part of the error
};

std::vector<CorruptCase> corrupt_cases() {
  const std::string two = f32_bytes({1, 2});
  const auto one_tensor = [&](std::string_view entry_body) {
    return file_with_header(std::string(R"({"t":{)") + std::string(entry_body) + "}}", two);
  };
  std::string deep = R"({"t":)";
  deep += std::string(100, '[') + std::string(100, ']') + "}";
  return {
      {"empty file", "", "the file is 0 bytes, too short for the 8-byte header length"},
      {"7-byte file", std::string(7, '\0'), "the file is 7 bytes, too short"},
      {"header over the limit", u64_le(100'000'001) + "{}",
       "header length 100000001 is over the 100000000-byte limit"},
      {"header length 2^64-1", u64_le(~std::uint64_t{0}) + "{}", "is over the 100000000-byte limit"},
      {"header past the end", u64_le(100) + std::string(20, ' '),
       "header length 100 runs past the end of the 28-byte file"},
      {"empty header", file_with_header("", ""), "header is not valid JSON"},
      {"truncated JSON", file_with_header(R"({"t":)", two), "header is not valid JSON"},
      {"number out of range", one_tensor(R"("dtype":"F32","shape":[1e400],"data_offsets":[0,8])"),
       "header is not valid JSON: number overflow"},
      {"NUL in header", file_with_header(std::string("{}\0\0\0\0\0\0", 8), ""),
       "header contains a NUL byte at file offset 10"},
      {"bad UTF-8", file_with_header("{\"\xff\":{}}", ""), "UTF-8"},
      {"header not an object", file_with_header("[1,2]", ""), "header is not a JSON object but array"},
      {"entry not an object", file_with_header(R"({"t":[1]})", two),
       "entry 't' is not a JSON object but array"},
      {"no dtype", one_tensor(R"("shape":[2],"data_offsets":[0,8])"), "tensor 't' has no \"dtype\""},
      {"dtype not a string", one_tensor(R"("dtype":32,"shape":[2],"data_offsets":[0,8])"),
       "tensor 't': \"dtype\" is not a string"},
      {"unknown dtype", one_tensor(R"("dtype":"F33","shape":[2],"data_offsets":[0,8])"),
       "tensor 't' has unknown dtype \"F33\""},
      {"unsupported dtype", one_tensor(R"("dtype":"I64","shape":[1],"data_offsets":[0,8])"),
       "tensor 't' has dtype I64, which bend cannot load"},
      {"no shape", one_tensor(R"("dtype":"F32","data_offsets":[0,8])"), "tensor 't' has no \"shape\""},
      {"shape not an array", one_tensor(R"("dtype":"F32","shape":2,"data_offsets":[0,8])"),
       "tensor 't': \"shape\" is not an array"},
      {"negative dimension", one_tensor(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"),
       "\"shape\" [-2] holds -2, not a non-negative integer"},
      {"fractional dimension", one_tensor(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"),
       "holds 2.0, not a non-negative integer"},
      {"string dimension", one_tensor(R"("dtype":"F32","shape":["2"],"data_offsets":[0,8])"),
       "holds \"2\", not a non-negative integer"},
      {"element count overflow",
       one_tensor(R"("dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,8])"),
       "has more elements than fit in 64 bits"},
      {"dimension over int64",
       one_tensor(R"("dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8])"),
       "has more elements than fit in 64 bits"},
      {"byte count overflow",
       one_tensor(R"("dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8])"),
       "has more bytes than fit in 64 bits"},
      {"no data_offsets", one_tensor(R"("dtype":"F32","shape":[2])"), "tensor 't' has no \"data_offsets\""},
      {"one offset", one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[8])"),
       "\"data_offsets\" [8] is not two non-negative integers"},
      {"three offsets", one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,8,8])"),
       "is not two non-negative integers"},
      {"negative offset", one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[-1,8])"),
       "is not two non-negative integers"},
      {"offsets not an array", one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":"0-8")"),
       "is not two non-negative integers"},
      {"end before begin", one_tensor(R"("dtype":"F32","shape":[0],"data_offsets":[8,0])"),
       "data_offsets [8, 0] end before they begin"},
      {"byte count mismatch", one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
       "data_offsets [0, 8] hold 8 bytes, but dtype F32 with shape [3] needs 12 bytes"},
      {"past the data buffer",
       file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234"),
       "tensor 't' (data_offsets [0, 8]) runs past the end of the 4-byte data buffer"},
      {"overlap",
       file_with_header(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           two + "1234"),
       "tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a' (data_offsets [0, 8])"},
      {"empty tensor inside another",
       file_with_header(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
           two),
       "tensor 'b' (data_offsets [4, 4]) overlaps tensor 'a'"},
      {"hole",
       file_with_header(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
           two + "1234" + two),
       "bytes [8, 12) of the data buffer belong to no tensor (a hole before tensor 'b')"},
      {"hole at the start",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", "1234" + two),
       "bytes [0, 4) of the data buffer belong to no tensor"},
      {"trailing bytes",
       file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", two + "junk"),
       "the data buffer is 12 bytes but the tensors cover only 8: 4 trailing bytes"},
      {"data but no tensors", file_with_header("{}", "junk"), "4 trailing bytes belong to no tensor"},
      {"metadata not an object", file_with_header(R"({"__metadata__":["a"]})", ""),
       "\"__metadata__\" is not a JSON object but array"},
      {"metadata value not a string", file_with_header(R"({"__metadata__":{"k":1}})", ""),
       "\"__metadata__\" value for key 'k' is not a string but number"},
      {"duplicate tensor",
       file_with_header(
           R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
           two),
       "header has duplicate entry 't'"},
      {"duplicate field", one_tensor(R"("dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8])"),
       "header has duplicate key 'dtype' inside an object at nesting depth 1"},
      {"duplicate metadata key", file_with_header(R"({"__metadata__":{"k":"a","k":"b"}})", ""),
       "duplicate key 'k'"},
      {"deep nesting", file_with_header(deep, ""), "header JSON nests deeper than 32 levels"},
  };
}
}  // namespace

TEST_CASE("safetensors reader names each kind of corruption", "[io][safetensors]") {
  ScratchDir dir;
  for (const CorruptCase& c : corrupt_cases()) {
    INFO("case: " << c.what);
    CHECK_THROWS_AS(parse(c.bytes), bend::IoError);
    CHECK_THROWS_WITH(parse(c.bytes), Contains(c.message) && Contains("safetensors file 'test.safetensors'"));
    // The file reader takes a different path through the same checks.
    const fs::path path = dir.path() / "corrupt.safetensors";
    write_bytes(path, c.bytes);
    CHECK_THROWS_WITH(bend::load_safetensors(path), Contains(c.message) && Contains(path.string()));
  }
}

TEST_CASE("load_safetensors reports files it cannot read", "[io][safetensors]") {
  ScratchDir dir;
  CHECK_THROWS_WITH(
      bend::load_safetensors(dir.path() / "absent.safetensors"),
      Contains("cannot open safetensors file") && Contains("absent.safetensors") && Contains("no such file"));
  CHECK_THROWS_AS(bend::load_safetensors(dir.path()), bend::IoError);

  // A valid file cut short, or with bytes appended.
  const std::vector<float> values = random_floats(100, 5);
  const std::vector<std::int64_t> shape{10, 10};
  const std::vector<bend::SafetensorsView> views{{"w", shape, values.data()}};
  const std::string bytes = bend::serialize_safetensors(views, {});
  write_bytes(dir.path() / "short.safetensors", bytes.substr(0, bytes.size() - 1));
  CHECK_THROWS_WITH(bend::load_safetensors(dir.path() / "short.safetensors"),
                    Contains("runs past the end of the 399-byte data buffer"));
  write_bytes(dir.path() / "long.safetensors", bytes + "x");
  CHECK_THROWS_WITH(bend::load_safetensors(dir.path() / "long.safetensors"), Contains("1 trailing bytes"));
}

TEST_CASE("safetensors reader survives random corruption", "[io][safetensors][fuzz]") {
  const std::vector<float> w = random_floats(12, 11), b = random_floats(3, 12);
  const std::vector<std::int64_t> w_shape{3, 4}, b_shape{3}, e_shape{0, 5};
  const std::vector<bend::SafetensorsView> views{{"0.weight", w_shape, w.data()},
                                                 {"empty", e_shape, nullptr},
                                                 {"0.bias", b_shape, b.data()},
                                                 {"s", {}, w.data()}};
  const std::string valid = bend::serialize_safetensors(views, {{"epoch", "3"}, {"arch", "4-3"}});
  const std::size_t header_end = 8 + static_cast<std::size_t>(static_cast<unsigned char>(valid[0]));
  REQUIRE(parse(valid).tensors.size() == 4);

  std::mt19937_64 rng(20240601);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  int accepted = 0, rejected = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string bytes = valid;
    const int mutations = 1 + static_cast<int>(pick(3));
    for (int m = 0; m < mutations && !bytes.empty(); ++m) {
      switch (pick(8)) {
        case 0:  // flip a bit anywhere
          bytes[pick(bytes.size())] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:  // set a random byte
          bytes[pick(bytes.size())] = static_cast<char>(rng());
          break;
        case 2:  // truncate
          bytes.resize(pick(bytes.size() + 1));
          break;
        case 3:  // append junk
          bytes.append(1 + pick(16), static_cast<char>(rng()));
          break;
        case 4: {  // change a digit in the header: a semantic, still-parseable change
          std::vector<std::size_t> digits;
          for (std::size_t i = 8; i < std::min(header_end, bytes.size()); ++i) {
            if (bytes[i] >= '0' && bytes[i] <= '9') digits.push_back(i);
          }
          if (!digits.empty()) bytes[digits[pick(digits.size())]] = static_cast<char>('0' + pick(10));
          break;
        }
        case 5: {  // insert or delete a header byte and fix up the length field
          if (bytes.size() <= 8) break;
          const std::size_t at = 8 + pick(bytes.size() - 8);
          std::uint64_t length = 0;
          for (int i = 7; i >= 0; --i)
            length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
          if (pick(2) == 0) {
            bytes.insert(at, 1, "0123456789[]{},:\" -e."[pick(21)]);
            ++length;
          } else {
            bytes.erase(at, 1);
            --length;
          }
          bytes.replace(0, 8, u64_le(length));
          break;
        }
        case 6:  // a random header length, or a tricky JSON token spliced into the header
          if (pick(2) == 0 && bytes.size() > 8) {
            static const char* const kTokens[] = {"1e400",
                                                  "-0",
                                                  "null",
                                                  "\"\\ud800\"",
                                                  "[]",
                                                  "{}",
                                                  "18446744073709551616",
                                                  "-1",
                                                  "2.5",
                                                  "\"F16\"",
                                                  "\"__metadata__\"",
                                                  "[0,0]",
                                                  "9223372036854775807"};
            const std::string token = kTokens[pick(std::size(kTokens))];
            std::size_t at = 8 + pick(bytes.size() - 8);
            std::size_t replaced = 0;
            if (pick(2) == 0) {  // replace the number at or after `at`, if any, instead of inserting
              while (at < bytes.size() && !(bytes[at] >= '0' && bytes[at] <= '9')) ++at;
              while (at + replaced < bytes.size() && bytes[at + replaced] >= '0' &&
                     bytes[at + replaced] <= '9')
                ++replaced;
            }
            std::uint64_t length = 0;
            for (int i = 7; i >= 0; --i)
              length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
            bytes.replace(at, replaced, token);
            bytes.replace(0, 8, u64_le(length + token.size() - replaced));
            break;
          }
          if (bytes.size() >= 8) bytes.replace(0, 8, u64_le(pick(2) == 0 ? rng() : pick(bytes.size() + 8)));
          break;
        default:  // swap two bytes of the header
          if (bytes.size() > header_end && header_end > 9) {
            std::swap(bytes[8 + pick(header_end - 8)], bytes[8 + pick(header_end - 8)]);
          }
          break;
      }
    }
    try {
      const bend::SafetensorsFile file = parse(bytes);
      // Anything accepted must be self-consistent.
      for (const auto& tensor : file.tensors) {
        std::int64_t numel = 1;
        for (auto d : tensor.shape) numel *= d;
        REQUIRE(static_cast<std::int64_t>(tensor.data.size()) == numel);
      }
      ++accepted;
    } catch (const bend::IoError&) {
      ++rejected;
    }
  }
  INFO("accepted " << accepted << ", rejected " << rejected);
  CHECK(rejected > 1000);
  CHECK(accepted > 10);  // some mutations (NaN payload bits, metadata digits) are still valid files
}

TEST_CASE("save_safetensors validates its input and keeps the old file on failure", "[io][safetensors]") {
  ScratchDir dir;
  const fs::path path = dir.path() / "model.safetensors";
  const std::vector<float> values = random_floats(6, 9);
  const std::vector<std::int64_t> shape{2, 3}, negative{2, -3};
  const std::vector<bend::SafetensorsView> good{{"w", shape, values.data()}};
  bend::save_safetensors(path, good, {{"step", "1"}});
  const std::string original = read_bytes(path);

  const auto rejects = [&](std::vector<bend::SafetensorsView> views, const char* message,
                           std::map<std::string, std::string> metadata = {}) {
    INFO(message);
    CHECK_THROWS_AS(bend::save_safetensors(path, views, metadata), bend::ValueError);
    CHECK_THROWS_WITH(bend::save_safetensors(path, views, metadata), Contains(message));
    CHECK_THROWS_AS(bend::serialize_safetensors(views, metadata), bend::ValueError);
    CHECK(read_bytes(path) == original);
  };
  rejects({{"w", shape, nullptr}}, "tensor 'w' of shape [2, 3] has no data");
  rejects({{"w", shape, values.data()}, {"w", shape, values.data()}}, "two tensors are named 'w'");
  rejects({{"__metadata__", shape, values.data()}}, "'__metadata__' is reserved");
  rejects({{"w", negative, values.data()}}, "tensor 'w' has a negative dimension in shape [2, -3]");
  rejects({{"bad\xff", shape, values.data()}}, "a tensor name is not valid UTF-8");
  rejects(good, "metadata is not valid UTF-8", {{"k", "\xc3"}});

  // An I/O failure part way through (here a file size limit, as with a full disk).
  const std::vector<float> big = random_floats(1 << 18, 10);  // 1 MiB
  const std::vector<std::int64_t> big_shape{1 << 18};
  const std::vector<bend::SafetensorsView> big_views{{"big", big_shape, big.data()}};
  {
    FileSizeLimit limit(100 * 1024);
    CHECK_THROWS_AS(bend::save_safetensors(path, big_views, {}), bend::IoError);
  }
  CHECK(read_bytes(path) == original);
  CHECK(bend::load_safetensors(path).metadata.at("step") == "1");

  CHECK_THROWS_WITH(bend::save_safetensors(dir.path() / "missing" / "m.safetensors", good, {}),
                    Contains("missing/m.safetensors") && Contains("does not exist"));
  std::vector<std::string> leftovers;
  for (const auto& item : fs::directory_iterator(dir.path()))
    leftovers.push_back(item.path().filename().string());
  CHECK(leftovers == std::vector<std::string>{"model.safetensors"});
}

namespace {
int run(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

TEST_CASE("PyTorch loads our files into nn.Sequential with strict=True", "[io][safetensors][torch]") {
  ScratchDir dir;
  const fs::path path = dir.path() / "mlp.safetensors";
  // 784-32-16-10, named the way nn.Sequential names its Linear layers (ReLUs are 1 and 3).
  const std::vector<std::int64_t> widths{784, 32, 16, 10};
  std::vector<std::vector<float>> storage;
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<std::string> names;
  for (std::size_t layer = 0; layer + 1 < widths.size(); ++layer) {
    const std::string prefix = std::to_string(2 * layer);
    names.push_back(prefix + ".weight");
    shapes.push_back({widths[layer + 1], widths[layer]});
    storage.push_back(random_floats(static_cast<std::size_t>(widths[layer + 1] * widths[layer]), layer));
    names.push_back(prefix + ".bias");
    shapes.push_back({widths[layer + 1]});
    storage.push_back(random_floats(static_cast<std::size_t>(widths[layer + 1]), 100 + layer));
  }
  std::vector<bend::SafetensorsView> views;
  for (std::size_t i = 0; i < names.size(); ++i) views.push_back({names[i], shapes[i], storage[i].data()});
  bend::save_safetensors(path, views, {{"arch", "784-32-16-10"}, {"epoch", "2"}});

  // Debian's python3-torch belongs to /usr/bin/python3, which may not be the first python3 on PATH.
  // Importing torch takes seconds, so the real run doubles as the probe. The script's own check of
  // strict=True (a mismatched ARCH exits 1 with "size mismatch") was verified by hand.
  const std::string script = std::string(BEND_SOURCE_DIR) + "/scripts/torch_load_safetensors.py";
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    std::string output;
    const int status =
        run(std::string(python) + " " + script + " " + path.string() + " 784-32-16-10", output);
    if (output.find("No module named") != std::string::npos || status == 127) continue;
    INFO("python: " << python);
    CHECK(status == 0);
    CHECK_THAT(output, Contains("OK") && Contains("tensors: 6") && Contains(R"("arch": "784-32-16-10")") &&
                           Contains(R"("epoch": "2")"));

    // Without ARCH the widths come from the metadata's "arch".
    CHECK(run(std::string(python) + " " + script + " " + path.string(), output) == 0);
    CHECK_THAT(output, Contains("OK") && Contains("model: arch metadata") && Contains("tensors: 6"));

    // bend.layers (what bend train writes) builds the torch.nn modules it names, GELU included, and a
    // checkpoint's model.* tensors are the model: its output for a row of ones is the one computed here.
    const fs::path layered = dir.path() / "layered.safetensors";
    std::vector<std::string> prefixed_names;
    for (const std::string& name : names) prefixed_names.push_back("model." + name);
    std::vector<bend::SafetensorsView> prefixed;
    for (std::size_t i = 0; i < names.size(); ++i)
      prefixed.push_back({prefixed_names[i], shapes[i], storage[i].data()});
    std::string layers = R"({"input":[784],"modules":[)";
    for (std::size_t layer = 0; layer + 1 < widths.size(); ++layer)
      layers += (layer ? R"(,{"name":"GELU","args":{}},)" : "") +
                std::string(R"({"name":"Linear","args":{"in_features":)") + std::to_string(widths[layer]) +
                R"(,"out_features":)" + std::to_string(widths[layer + 1]) + "}}";
    layers += "]}";
    bend::save_safetensors(layered, prefixed, {{"bend.layers", layers}});
    REQUIRE(run(std::string(python) + " " + script + " " + layered.string() + " --ones-output", output) == 0);
    CHECK_THAT(output, Contains("model: bend.layers metadata") && Contains("tensors: 6"));
    std::vector<double> x(784, 1.0);
    for (std::size_t layer = 0; layer + 1 < widths.size(); ++layer) {
      const auto& w = storage[2 * layer];
      const auto& b = storage[2 * layer + 1];
      std::vector<double> y(static_cast<std::size_t>(widths[layer + 1]));
      for (std::size_t o = 0; o < y.size(); ++o) {
        double sum = b[o];
        for (std::size_t i = 0; i < x.size(); ++i) sum += static_cast<double>(w[o * x.size() + i]) * x[i];
        y[o] = layer + 2 < widths.size() ? 0.5 * sum * (1 + std::erf(sum / std::sqrt(2.0))) : sum;
      }
      x = y;
    }
    const auto at = output.find("ones output: [");
    REQUIRE(at != std::string::npos);
    const char* p = output.c_str() + at + 14;
    for (std::size_t k = 0; k < x.size(); ++k) {
      char* end = nullptr;
      CHECK(std::strtod(p, &end) == Approx(x[k]).margin(1e-4));
      p = end;
      while (*p == ',' || *p == ' ') ++p;
    }

    // A file with neither asks for ARCH.
    bend::save_safetensors(dir.path() / "bare.safetensors", views, {});
    CHECK(run(std::string(python) + " " + script + " " + (dir.path() / "bare.safetensors").string(),
              output) == 1);
    CHECK_THAT(output, Contains("no architecture in the metadata") && Contains("give ARCH"));
    return;
  }
  bend::testing::require_available(false, "PyTorch (python3 -c 'import torch')",
                                   "apt-get install python3-torch (scripts/install-deps.sh --test does)");
}

}  // namespace BEND_UNITY_ID
