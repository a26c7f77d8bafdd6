// Tests for the IDX reader and the MNIST-style dataset loader. The tests write their own small IDX
// files (raw and gzip) into a temporary directory, corrupt them in every way the reader checks, and
// fuzz the parser; the real MNIST / Fashion-MNIST files are checked when present.
#include "build_paths.hpp"
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <zlib.h>
#include <catch2/catch.hpp>

#include "bend/data/idx.hpp"
#include "bend/data/mnist.hpp"
#include "bend/error.hpp"
#include "idx_files.hpp"

#include "requirements.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using Catch::Contains;
using namespace bend::testing;

// Checks that `expr` throws bend::IoError whose message matches the given Catch string matcher.
#define CHECK_IO_ERROR(expr, matcher)     \
  do {                                    \
    CHECK_THROWS_AS(expr, bend::IoError); \
    CHECK_THROWS_WITH(expr, matcher);     \
  } while (false)

namespace {

// Writes a tiny dataset split into dir: `count` images of 2x3 and their labels.
void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t image_count,
                 std::uint32_t label_count, const Bytes& labels, bool gzipped = false) {
  const Bytes images = make_idx(0x08, {image_count, 2, 3}, sequence(image_count * 6));
  const Bytes label_file = make_idx(0x08, {label_count}, labels);
  const std::string ext = gzipped ? ".gz" : "";
  write_file(dir / (prefix + "-images-idx3-ubyte" + ext), gzipped ? gzip(images) : images);
  write_file(dir / (prefix + "-labels-idx1-ubyte" + ext), gzipped ? gzip(label_file) : label_file);
}

}  // namespace

TEST_CASE("read_idx reads valid unsigned-byte files", "[idx]") {
  TempDir tmp;
  const Bytes pixels = sequence(4 * 3 * 5);
  write_file(tmp.path / "images", make_idx(0x08, {4, 3, 5}, pixels));
  write_file(tmp.path / "labels", make_idx(0x08, {6}, {0, 1, 2, 9, 8, 7}));
  write_file(tmp.path / "four-d", make_idx(0x08, {2, 1, 2, 2}, sequence(8)));
  write_file(tmp.path / "empty", make_idx(0x08, {0, 28, 28}, {}));

  const bend::IdxArray images = bend::read_idx(tmp.path / "images");
  CHECK(images.dtype == 0x08);
  CHECK(images.dims == std::vector<std::uint32_t>{4, 3, 5});
  CHECK(images.bytes == pixels);
  CHECK(images.element_count() == 60);

  const bend::IdxArray labels = bend::read_idx(tmp.path / "labels");
  CHECK(labels.dims == std::vector<std::uint32_t>{6});
  CHECK(labels.bytes == Bytes{0, 1, 2, 9, 8, 7});

  CHECK(bend::read_idx(tmp.path / "four-d").dims == std::vector<std::uint32_t>{2, 1, 2, 2});
  const bend::IdxArray empty = bend::read_idx(tmp.path / "empty");
  CHECK(empty.dims == std::vector<std::uint32_t>{0, 28, 28});
  CHECK(empty.bytes.empty());
}

TEST_CASE("gzip-compressed IDX parses like the raw file", "[idx]") {
  TempDir tmp;
  // Large enough to span several 1 MiB decompression chunks.
  const Bytes raw = make_idx(0x08, {3000, 28, 28}, sequence(3000 * 28 * 28, 253));
  write_file(tmp.path / "images.gz", gzip(raw));
  const bend::IdxArray from_raw = bend::parse_idx(raw, "raw");
  const bend::IdxArray from_gz = bend::read_idx(tmp.path / "images.gz");
  CHECK(from_gz.dims == from_raw.dims);
  CHECK(from_gz.bytes == from_raw.bytes);
  CHECK(from_gz.dtype == from_raw.dtype);

  SECTION("concatenated gzip members are one stream, as with gzip(1)") {
    const std::size_t split = 1000;
    Bytes two_members = gzip(Bytes(raw.begin(), raw.begin() + split));
    const Bytes second = gzip(Bytes(raw.begin() + split, raw.end()));
    two_members.insert(two_members.end(), second.begin(), second.end());
    CHECK(bend::parse_idx(two_members, "two").bytes == from_raw.bytes);
  }
}

TEST_CASE("malformed IDX files give an error naming the file and the problem", "[idx]") {
  TempDir tmp;
  const Bytes labels = make_idx(0x08, {5}, {1, 2, 3, 4, 5});
  auto check_file = [&](const std::string& file_name, const Bytes& bytes, const std::string& problem,
                        const std::string& detail = "") {
    const fs::path path = tmp.path / file_name;
    write_file(path, bytes);
    CHECK_IO_ERROR(bend::read_idx(path), Contains(path.string()) && Contains(problem) && Contains(detail));
  };

  SECTION("bad magic") {
    check_file("magic", Bytes{0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0}, "bad magic", "12 34");
  }
  SECTION("unknown dtype") { check_file("dtype-unknown", make_idx(0x05, {1}, {0}), "unknown dtype 0x05"); }
  SECTION("unsupported dtype") {
    check_file("dtype-float", make_idx(0x0D, {1}, {0, 0, 0, 0}), "unsupported dtype 0x0d", "float32");
  }
  SECTION("ndims 0") { check_file("ndims0", Bytes{0, 0, 0x08, 0}, "ndims 0", "1..4"); }
  SECTION("ndims above 4") { check_file("ndims5", make_idx(0x08, {1, 1, 1, 1, 1}, {7}), "ndims 5", "1..4"); }
  SECTION("truncated magic") {
    check_file("short-magic", Bytes{0, 0, 0x08}, "truncated header", "has 3 bytes");
  }
  SECTION("truncated dimensions") {
    check_file("short-dims", Bytes{0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0}, "truncated header", "16-byte header");
  }
  SECTION("truncated data") {
    const Bytes bytes = make_idx(0x08, {60000}, sequence(992));
    check_file("train-labels-idx1-ubyte", bytes, "truncated: header says 60000 items (60008 bytes)",
               "file has 1000 bytes");
  }
  SECTION("truncated 3-D data") {
    check_file("short-images", make_idx(0x08, {10, 28, 28}, sequence(100)),
               "10x28x28 = 7840 items (7856 bytes)", "has 116 bytes");
  }
  SECTION("trailing garbage") {
    Bytes bytes = labels;
    bytes.push_back(0xAA);
    check_file("trailing", bytes, "trailing garbage", "1 extra from offset 13");
  }
  SECTION("dimension product overflows") {
    check_file("overflow", make_idx(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}), "overflow");
  }
  SECTION("missing file") {
    const fs::path path = tmp.path / "does-not-exist";
    CHECK_IO_ERROR(bend::read_idx(path), Contains(path.string()) && Contains("no such file"));
  }
  SECTION("directory") { CHECK_IO_ERROR(bend::read_idx(tmp.path), Contains("is a directory")); }
}

TEST_CASE("malformed gzip IDX files give specific errors", "[idx]") {
  TempDir tmp;
  const Bytes raw = make_idx(0x08, {100, 4, 4}, sequence(1600));
  const Bytes compressed = gzip(raw);
  auto check_file = [&](const std::string& file_name, const Bytes& bytes, const std::string& problem) {
    const fs::path path = tmp.path / file_name;
    write_file(path, bytes);
    CHECK_IO_ERROR(bend::read_idx(path), Contains(path.string()) && Contains(problem));
  };

  SECTION("truncated gzip stream") {
    check_file("cut.gz", Bytes(compressed.begin(), compressed.end() - 20), "truncated gzip data");
  }
  SECTION("corrupt gzip data (checksum)") {
    Bytes bad = compressed;
    bad[bad.size() - 6] ^= 0xFF;  // inside the CRC-32 trailer
    check_file("crc.gz", bad, "corrupt gzip data");
  }
  SECTION("garbage after the gzip stream") {
    Bytes bad = compressed;
    bad.insert(bad.end(), {'j', 'u', 'n', 'k'});
    check_file("junk.gz", bad, "trailing garbage after the gzip stream");
  }
  SECTION("IDX inside gzip is truncated") {
    check_file(
        "short.gz", gzip(Bytes(raw.begin(), raw.end() - 100)),
        "truncated: header says 100x4x4 = 1600 items (1616 bytes) but the decompressed data has 1516 bytes");
  }
  SECTION("a header that claims more than the gzip data can hold is refused before inflating") {
    // 0xFFFFFFFF images of 28x28 (3.4 TB) over 1 MB of zeros: at most ~1 GB could come out of the
    // compressed bytes, so nothing is inflated (the reader took 4.1 GB on 4 GiB of zeros before).
    Bytes lying = make_idx(0x08, {0xFFFFFFFFu, 28, 28}, Bytes(1 << 20, 0));
    check_file("lying.gz", gzip(lying), "bytes of gzip data can hold at most");
  }
  SECTION("IDX inside gzip has trailing bytes") {
    Bytes longer = raw;
    longer.resize(raw.size() + 3000000, 1);  // more than one decompression chunk extra
    check_file("long.gz", gzip(longer), "3000000 extra from offset 1616");
  }
  SECTION("IDX inside gzip has a bad header") {
    check_file("magic.gz", gzip(Bytes{9, 9, 9, 9}), "bad magic");
    check_file("empty.gz", gzip(Bytes{}), "truncated header");
  }
}

TEST_CASE("parse_idx survives random and truncated input", "[idx][fuzz]") {
  std::mt19937 rng(12345);
  auto uniform = [&](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  };
  const Bytes valid = make_idx(0x08, {20, 5, 5}, sequence(500));
  const Bytes valid_gz = gzip(valid);
  int parsed = 0, rejected = 0;
  auto attempt = [&](const Bytes& input) {
    try {
      const bend::IdxArray array = bend::parse_idx(input, "fuzz");
      CHECK(array.bytes.size() == array.element_count());
      ++parsed;
    } catch (const bend::IoError&) {
      ++rejected;
    }
  };

  for (int i = 0; i < 2000; ++i) {
    Bytes input(uniform(0, 48));
    for (auto& b : input) b = static_cast<std::uint8_t>(uniform(0, 255));
    // Steer some inputs past the magic check so the deeper checks get exercised too.
    if (i % 3 == 1 && input.size() >= 4) {
      input[0] = input[1] = 0;
      input[2] = 0x08;
      input[3] = static_cast<std::uint8_t>(uniform(0, 5));
      for (std::size_t k = 4; k + 3 < input.size() && k < 20; k += 4)
        input[k] = input[k + 1] = input[k + 2] = 0;
    } else if (i % 3 == 2 && input.size() >= 2) {
      input[0] = 0x1f;
      input[1] = 0x8b;
    }
    attempt(input);
  }
  for (int i = 0; i < 500; ++i) {
    const Bytes& source = i % 2 == 0 ? valid : valid_gz;
    Bytes cut(source.begin(), source.begin() + static_cast<std::ptrdiff_t>(uniform(0, source.size())));
    attempt(cut);
    Bytes flipped = source;
    flipped[uniform(0, flipped.size() - 1)] ^= static_cast<std::uint8_t>(uniform(1, 255));
    attempt(flipped);
  }
  CHECK(parsed + rejected == 3000);
  CHECK(rejected > 0);
}

TEST_CASE("load_image_dataset loads and cross-checks a split", "[mnist]") {
  TempDir tmp;
  SECTION("plain files") {
    write_split(tmp.path, "train", 4, 4, {3, 1, 4, 1});
    write_split(tmp.path, "t10k", 2, 2, {9, 0});
    const bend::ImageDataset train = bend::load_image_dataset(tmp.path, bend::Split::Train);
    CHECK(train.count == 4);
    CHECK(train.rows == 2);
    CHECK(train.cols == 3);
    CHECK(train.pixels == sequence(24));
    CHECK(train.labels == Bytes{3, 1, 4, 1});
    CHECK(train.num_classes == 10);
    CHECK(train.name == tmp.path.filename().string() + "/train");
    const bend::ImageDataset test = bend::load_image_dataset(tmp.path, bend::Split::Test);
    CHECK(test.count == 2);
    CHECK(test.labels == Bytes{9, 0});
  }
  SECTION("gzip files, as Fashion-MNIST ships") {
    write_split(tmp.path, "train", 3, 3, {5, 6, 7}, true);
    const bend::ImageDataset train = bend::load_image_dataset(tmp.path, bend::Split::Train);
    CHECK(train.count == 3);
    CHECK(train.labels == Bytes{5, 6, 7});
  }
  SECTION("count mismatch names both files and counts") {
    write_split(tmp.path, "train", 4, 3, {1, 2, 3});
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train),
                   Contains("count mismatch") && Contains("train-images-idx3-ubyte has 4 images") &&
                       Contains("train-labels-idx1-ubyte has 3 labels"));
  }
  SECTION("label out of range names the file, index and value") {
    write_split(tmp.path, "train", 3, 3, {1, 10, 2});
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train),
                   Contains("train-labels-idx1-ubyte") && Contains("label at index 1 is 10"));
  }
  SECTION("images must be 3-D, labels 1-D") {
    write_file(tmp.path / "train-images-idx3-ubyte", make_idx(0x08, {2, 6}, sequence(12)));
    write_file(tmp.path / "train-labels-idx1-ubyte", make_idx(0x08, {2}, {0, 1}));
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train),
                   Contains("train-images-idx3-ubyte") && Contains("must be 3-D") && Contains("2x6"));
    write_file(tmp.path / "train-images-idx3-ubyte", make_idx(0x08, {2, 1, 1}, {0, 0}));
    write_file(tmp.path / "train-labels-idx1-ubyte", make_idx(0x08, {2, 1}, {0, 1}));
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train),
                   Contains("train-labels-idx1-ubyte") && Contains("must be 1-D"));
  }
  SECTION("missing files end with the layout's fetch hint") {
    write_split(tmp.path, "train", 1, 1, {0});
    bend::IdxLayout layout;
    layout.fetch_hint = "run get-it.sh";
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Test, layout),
                   Contains("t10k-images-idx3-ubyte") && Contains("; run get-it.sh"));
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path / "mnist", bend::Split::Train, layout),
                   Contains("does not exist") && Contains("; run get-it.sh"));
    CHECK_THROWS_WITH(bend::load_image_dataset(tmp.path / "mnist", bend::Split::Train),
                      Contains("does not exist") && !Contains(";"));
  }
  SECTION("a layout's prefixes, label range and class count") {
    bend::IdxLayout layout;
    layout.train_prefix = "letters-train";
    layout.num_classes = 3;
    layout.first_label = 5;
    write_split(tmp.path, "letters-train", 3, 3, {5, 7, 6});
    const bend::ImageDataset train = bend::load_image_dataset(tmp.path, bend::Split::Train, layout);
    CHECK(train.labels == Bytes{0, 2, 1});
    CHECK(train.num_classes == 3);
    write_split(tmp.path, "letters-train", 1, 1, {8});
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train, layout),
                   Contains("label at index 0 is 8, outside the 3 classes 5..7"));
    write_split(tmp.path, "letters-train", 1, 1, {4});
    CHECK_IO_ERROR(bend::load_image_dataset(tmp.path, bend::Split::Train, layout),
                   Contains("label at index 0 is 4, outside the 3 classes 5..7"));
  }
  SECTION("a transposed layout turns each stored image upright") {
    bend::IdxLayout layout;
    layout.transposed = true;
    write_split(tmp.path, "train", 2, 2, {0, 1});  // stored 2x3 each: values 0..5 and 6..11
    const bend::ImageDataset train = bend::load_image_dataset(tmp.path, bend::Split::Train, layout);
    CHECK(train.rows == 3);
    CHECK(train.cols == 2);
    // stored[n][i][j] = n*6 + i*3 + j appears at upright[n][j][i].
    CHECK(train.pixels == Bytes{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11});
  }
}

TEST_CASE("default_data_dir knows mnist and fashion", "[mnist]") {
  const char* saved = std::getenv("BEND_DATA_DIR");
  const std::string saved_value = saved != nullptr ? saved : "";
  ::unsetenv("BEND_DATA_DIR");
  CHECK(bend::default_data_dir("mnist") == fs::path("data/mnist"));
  ::setenv("BEND_DATA_DIR", "/somewhere/else", 1);
  CHECK(bend::default_data_dir("mnist") == fs::path("/somewhere/else"));
  if (saved != nullptr) {
    ::setenv("BEND_DATA_DIR", saved_value.c_str(), 1);
  } else {
    ::unsetenv("BEND_DATA_DIR");
  }
  CHECK(bend::default_data_dir("fashion") == fs::path("/usr/share/datasets/fashion-mnist"));
  CHECK_THROWS_AS(bend::default_data_dir("cifar"), bend::ValueError);
  CHECK_THROWS_WITH(bend::default_data_dir("cifar"), Contains("cifar") && Contains("mnist, fashion"));
}

namespace {

std::array<std::int64_t, 10> label_histogram(const bend::ImageDataset& data) {
  std::array<std::int64_t, 10> counts{};
  for (std::uint8_t label : data.labels) ++counts.at(label);
  return counts;
}

}  // namespace

TEST_CASE("real MNIST loads with the expected shapes and label counts", "[mnist][data]") {
  const fs::path dir = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(
          fs::exists(dir / "train-images-idx3-ubyte") || fs::exists(dir / "train-images-idx3-ubyte.gz"),
          "MNIST in " + dir.string(), "run data/fetch-mnist.sh"))
    return;
  const bend::ImageDataset train = bend::load_image_dataset(dir, bend::Split::Train);
  CHECK(train.count == 60000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  CHECK(train.pixels.size() == 60000u * 28 * 28);
  CHECK(label_histogram(train) ==
        std::array<std::int64_t, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});

  const bend::ImageDataset test = bend::load_image_dataset(dir, bend::Split::Test);
  CHECK(test.count == 10000);
  CHECK(label_histogram(test) ==
        std::array<std::int64_t, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
}

TEST_CASE("real Fashion-MNIST loads with the expected shapes and label counts", "[mnist][data]") {
  const fs::path dir = bend::default_data_dir("fashion");
  if (!bend::testing::require_available(
          fs::exists(dir / "train-images-idx3-ubyte.gz") || fs::exists(dir / "train-images-idx3-ubyte"),
          "Fashion-MNIST in " + dir.string(), "apt-get install dataset-fashion-mnist"))
    return;
  const bend::ImageDataset train = bend::load_image_dataset(dir, bend::Split::Train);
  CHECK(train.count == 60000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  std::array<std::int64_t, 10> six_thousand;
  six_thousand.fill(6000);
  CHECK(label_histogram(train) == six_thousand);

  const bend::ImageDataset test = bend::load_image_dataset(dir, bend::Split::Test);
  CHECK(test.count == 10000);
  std::array<std::int64_t, 10> one_thousand;
  one_thousand.fill(1000);
  CHECK(label_histogram(test) == one_thousand);
}

}  // namespace BEND_UNITY_ID
