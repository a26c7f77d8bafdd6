// The dataset registry: every entry is complete, lookups fail with the list of names, and the EMNIST
// entries load small synthetic IDX files written here the way EMNIST ships them (file names, label
// ranges, transposed images).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "bend/data/registry.hpp"
#include "bend/error.hpp"
#include "idx_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using Catch::Contains;
using namespace bend::testing;

namespace {

// Sets an environment variable for one scope and restores the previous value after.
struct ScopedEnv {
  std::string name;
  bool had = false;
  std::string old;
  ScopedEnv(std::string variable, const char* value) : name(std::move(variable)) {
    if (const char* v = std::getenv(name.c_str())) {
      had = true;
      old = v;
    }
    if (value != nullptr)
      ::setenv(name.c_str(), value, 1);
    else
      ::unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (had)
      ::setenv(name.c_str(), old.c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

// Stored pixel (row i, column j of the file's 28x28 block) of image n: distinct along i and j.
std::uint8_t stored_pixel(std::uint32_t n, std::uint32_t i, std::uint32_t j) {
  return static_cast<std::uint8_t>((n * 7 + i * 3 + j * 5) % 256);
}

// Writes <prefix>-images-idx3-ubyte(.gz) with `labels.size()` 28x28 images and the matching labels.
void write_28x28_split(const fs::path& dir, const std::string& prefix, const Bytes& labels, bool gzipped) {
  const auto count = static_cast<std::uint32_t>(labels.size());
  Bytes pixels;
  for (std::uint32_t n = 0; n < count; ++n)
    for (std::uint32_t i = 0; i < 28; ++i)
      for (std::uint32_t j = 0; j < 28; ++j) pixels.push_back(stored_pixel(n, i, j));
  const Bytes images = make_idx(0x08, {count, 28, 28}, pixels);
  const Bytes label_file = make_idx(0x08, {count}, labels);
  const std::string ext = gzipped ? ".gz" : "";
  write_file(dir / (prefix + "-images-idx3-ubyte" + ext), gzipped ? gzip(images) : images);
  write_file(dir / (prefix + "-labels-idx1-ubyte" + ext), gzipped ? gzip(label_file) : label_file);
}

}  // namespace

TEST_CASE("registry: every dataset entry is complete and unique", "[registry]") {
  std::set<std::string> names;
  for (const bend::DatasetEntry& e : bend::dataset_registry()) {
    INFO(e.name);
    CHECK(names.insert(e.name).second);
    CHECK(!e.summary.empty());
    if (e.is_text()) {  // a language model's corpus: no classes, no sample shape
      CHECK(e.num_classes == 0);
      CHECK(e.input_shape.empty());
      CHECK(!e.fetch_hint.empty());
      CHECK_THROWS_AS(e.load(e.default_dir(), bend::Split::Train), bend::ValueError);
      continue;
    }
    CHECK(e.num_classes >= 2);
    CHECK(e.num_classes <= 256);  // IDX labels are bytes
    CHECK(e.input_shape == std::vector<std::int64_t>{1, 28, 28});
    CHECK(e.input_features() == 784);
    REQUIRE(e.default_dir);
    CHECK(!e.default_dir().empty());
    CHECK(!e.fetch_hint.empty());
    CHECK(e.load);
    CHECK(&bend::find_dataset(e.name) == &e);
  }
  CHECK(names.count("mnist") == 1);
  CHECK(names.count("fashion") == 1);
  CHECK(bend::find_dataset("emnist-letters").num_classes == 26);
  CHECK(bend::find_dataset("emnist-balanced").num_classes == 47);
  CHECK(bend::find_dataset("emnist-bymerge").num_classes == 47);
  CHECK(bend::find_dataset("emnist-byclass").num_classes == 62);
  CHECK(bend::find_dataset("emnist-digits").num_classes == 10);
  CHECK(bend::find_dataset("emnist-mnist").num_classes == 10);
  CHECK(bend::find_dataset("mnist").num_classes == 10);
  CHECK(bend::find_dataset("fashion").num_classes == 10);
}

TEST_CASE("registry: unknown names list the valid ones", "[registry]") {
  CHECK_THAT(bend::dataset_names(), Contains("mnist, fashion, emnist-letters"));
  CHECK_THROWS_AS(bend::find_dataset("cifar"), bend::ValueError);
  CHECK_THROWS_WITH(bend::find_dataset("cifar"), Contains("\"cifar\"") && Contains(bend::dataset_names()));
  CHECK_THROWS_AS(bend::load_dataset("cifar", "", bend::Split::Train), bend::ValueError);
  CHECK_THROWS_AS(bend::default_data_dir("cifar"), bend::ValueError);
}

TEST_CASE("registry: default directories", "[registry]") {
  {
    ScopedEnv unset("BEND_DATA_DIR", nullptr);
    CHECK(bend::default_data_dir("mnist") == fs::path("data/mnist"));
  }
  {
    ScopedEnv set("BEND_DATA_DIR", "/somewhere/else");
    CHECK(bend::default_data_dir("mnist") == fs::path("/somewhere/else"));
    CHECK(bend::find_dataset("mnist").default_dir() == fs::path("/somewhere/else"));
  }
  CHECK(bend::default_data_dir("fashion") == fs::path("/usr/share/datasets/fashion-mnist"));
  {
    ScopedEnv unset("BEND_EMNIST_DIR", nullptr);
    CHECK(bend::default_data_dir("emnist-letters") == fs::path("data/emnist"));
  }
  {
    ScopedEnv set("BEND_EMNIST_DIR", "/data/EMNIST/gzip");
    CHECK(bend::default_data_dir("emnist-balanced") == fs::path("/data/EMNIST/gzip"));
  }
}

TEST_CASE("registry: missing files carry the entry's fetch hint", "[registry]") {
  TempDir tmp;
  CHECK_THROWS_WITH(bend::load_dataset("mnist", tmp.path / "nothing", bend::Split::Train),
                    Contains("does not exist") && Contains("data/fetch-mnist.sh"));
  CHECK_THROWS_WITH(bend::load_dataset("fashion", tmp.path, bend::Split::Test),
                    Contains("t10k-images-idx3-ubyte") && Contains("apt-get install dataset-fashion-mnist"));
  CHECK_THROWS_AS(bend::load_dataset("emnist-letters", tmp.path, bend::Split::Train), bend::IoError);
  CHECK_THROWS_WITH(bend::load_dataset("emnist-letters", tmp.path, bend::Split::Train),
                    Contains("emnist-letters-train-images-idx3-ubyte") && Contains("emnist-dataset") &&
                        Contains("data/emnist"));
}

TEST_CASE("registry: EMNIST letters: 26 classes from labels 1..26, images upright", "[registry][emnist]") {
  TempDir tmp;
  write_28x28_split(tmp.path, "emnist-letters-train", {1, 26, 13, 2}, /*gzipped=*/true);
  write_28x28_split(tmp.path, "emnist-letters-test", {26, 1}, /*gzipped=*/false);

  const bend::TensorDataset train = bend::load_dataset("emnist-letters", tmp.path, bend::Split::Train);
  CHECK(train.num_classes == 26);
  CHECK(train.name == "emnist-letters/train");
  CHECK(train.labels == std::vector<std::int32_t>{0, 25, 12, 1});
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  REQUIRE(train.images.shape() == bend::Shape{4, 784});
  // Upright pixel (r, c) of image n is the file's (c, r).
  const float* x = train.images.data();
  for (std::uint32_t n = 0; n < 4; ++n)
    for (std::uint32_t r = 0; r < 28; ++r)
      for (std::uint32_t c = 0; c < 28; ++c) {
        INFO("image " << n << " pixel " << r << "," << c);
        REQUIRE(x[n * 784 + r * 28 + c] == static_cast<float>(stored_pixel(n, c, r)) / 255.0f);
      }
  CHECK(x[1] != x[28]);  // the pattern is not symmetric, so the check above tells a transpose apart

  const bend::TensorDataset test = bend::load_dataset("emnist-letters", tmp.path, bend::Split::Test);
  CHECK(test.labels == std::vector<std::int32_t>{25, 0});
  CHECK(test.name == "emnist-letters/test");
  // The thin wrapper reads the same entry.
  CHECK(bend::load_tensor_dataset("emnist-letters", tmp.path, bend::Split::Test).labels == test.labels);

  // 0 and 27 are not letters.
  write_28x28_split(tmp.path, "emnist-letters-test", {3, 0}, false);
  CHECK_THROWS_WITH(bend::load_dataset("emnist-letters", tmp.path, bend::Split::Test),
                    Contains("emnist-letters-test-labels-idx1-ubyte") && Contains("label at index 1 is 0") &&
                        Contains("26 classes 1..26"));
  write_28x28_split(tmp.path, "emnist-letters-test", {27}, false);
  CHECK_THROWS_AS(bend::load_dataset("emnist-letters", tmp.path, bend::Split::Test), bend::IoError);
}

TEST_CASE("registry: EMNIST splits take their class count from the entry", "[registry][emnist]") {
  TempDir tmp;
  write_28x28_split(tmp.path, "emnist-balanced-train", {0, 46, 10}, false);
  const bend::TensorDataset balanced = bend::load_dataset("emnist-balanced", tmp.path, bend::Split::Train);
  CHECK(balanced.num_classes == 47);
  CHECK(balanced.labels == std::vector<std::int32_t>{0, 46, 10});
  write_28x28_split(tmp.path, "emnist-balanced-train", {47}, false);
  CHECK_THROWS_WITH(bend::load_dataset("emnist-balanced", tmp.path, bend::Split::Train),
                    Contains("label at index 0 is 47") && Contains("47 classes 0..46"));

  write_28x28_split(tmp.path, "emnist-byclass-test", {61, 0}, false);
  CHECK(bend::load_dataset("emnist-byclass", tmp.path, bend::Split::Test).num_classes == 62);

  // A label the 62-class split allows is still out of range for the 10 digits.
  write_28x28_split(tmp.path, "emnist-digits-test", {9, 10}, false);
  CHECK_THROWS_WITH(bend::load_dataset("emnist-digits", tmp.path, bend::Split::Test),
                    Contains("label at index 1 is 10"));
}

TEST_CASE("registry: images of another size are refused", "[registry]") {
  TempDir tmp;
  write_file(tmp.path / "train-images-idx3-ubyte", make_idx(0x08, {2, 2, 3}, sequence(12)));
  write_file(tmp.path / "train-labels-idx1-ubyte", make_idx(0x08, {2}, {0, 1}));
  CHECK_THROWS_AS(bend::load_dataset("mnist", tmp.path, bend::Split::Train), bend::IoError);
  CHECK_THROWS_WITH(bend::load_dataset("mnist", tmp.path, bend::Split::Train),
                    Contains(tmp.path.string()) && Contains("2x3") && Contains("[1, 28, 28]"));
}

}  // namespace BEND_UNITY_ID
