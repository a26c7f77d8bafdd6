// Tests for TensorDataset (conversion, subset, normalisation) and DataLoader (batch sizes, file order
// and shuffled epochs, determinism, checkpoint state, no buffer creation in steady state), plus a
// check of the real MNIST files when they are present.
#include "build_paths.hpp"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "bend/data/loader.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/rng.hpp"

#include "requirements.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using bend::Batch;
using bend::DataLoader;
using bend::Rng;
using bend::TensorDataset;

namespace {

// n samples of rows x cols pixels; every pixel of sample i is i + (pixel index) / 1000, label i % 10,
// so a batch row tells which sample it holds.
TensorDataset numbered_dataset(std::int64_t n, std::int64_t rows = 2, std::int64_t cols = 3) {
  TensorDataset ds;
  ds.rows = rows;
  ds.cols = cols;
  ds.images = bend::Tensor::empty(bend::Shape{n, rows * cols});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < rows * cols; ++j)
      ds.images.data()[i * rows * cols + j] = static_cast<float>(i) + static_cast<float>(j) / 1000.0f;
  for (std::int64_t i = 0; i < n; ++i) ds.labels.push_back(static_cast<std::int32_t>(i % 10));
  ds.name = "numbered";
  return ds;
}

// The sample numbers of one batch, checking each row and label are consistent.
std::vector<std::int64_t> samples_of(const Batch& batch, std::int64_t features) {
  REQUIRE(batch.images.ndim() == 2);
  REQUIRE(batch.images.size(0) == batch.size);
  REQUIRE(batch.images.size(1) == features);
  REQUIRE(static_cast<std::int64_t>(batch.labels.size()) == batch.size);
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < batch.size; ++r) {
    const float* row = batch.images.data() + r * features;
    const auto sample = static_cast<std::int64_t>(std::lround(row[0]));
    for (std::int64_t j = 0; j < features; ++j)
      REQUIRE(row[j] == static_cast<float>(sample) + static_cast<float>(j) / 1000.0f);
    REQUIRE(batch.labels[static_cast<std::size_t>(r)] == sample % 10);
    out.push_back(sample);
  }
  return out;
}

// Every sample of one epoch in the order the loader hands them out, and the batch sizes.
std::vector<std::int64_t> run_epoch(DataLoader& loader, std::int64_t features,
                                    std::vector<std::int64_t>* sizes = nullptr, bool start = true) {
  if (start) loader.start_epoch();
  std::vector<std::int64_t> order;
  Batch batch;
  std::int64_t expected_index = 0;
  while (loader.next(batch)) {
    if (start) REQUIRE(batch.index == expected_index);
    ++expected_index;
    if (sizes) sizes->push_back(batch.size);
    for (std::int64_t s : samples_of(batch, features)) order.push_back(s);
  }
  return order;
}

std::vector<std::int64_t> iota_vector(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace

TEST_CASE("loader: batch sizes, last partial batch and drop_last", "[loader]") {
  const TensorDataset ds = numbered_dataset(10);
  Rng rng(1);
  for (bool shuffle : {false, true}) {
    INFO("shuffle " << shuffle);
    {
      DataLoader loader(ds, 4, shuffle, rng);
      CHECK(loader.batches_per_epoch() == 3);
      CHECK(loader.num_batches() == 3);
      std::vector<std::int64_t> sizes;
      run_epoch(loader, 6, &sizes);
      CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});
    }
    {
      DataLoader loader(ds, 4, shuffle, rng, /*drop_last=*/true);
      CHECK(loader.batches_per_epoch() == 2);
      std::vector<std::int64_t> sizes;
      const auto order = run_epoch(loader, 6, &sizes);
      CHECK(sizes == std::vector<std::int64_t>{4, 4});
      CHECK(order.size() == 8);
    }
    {
      DataLoader loader(ds, 5, shuffle, rng);  // divides exactly
      std::vector<std::int64_t> sizes;
      run_epoch(loader, 6, &sizes);
      CHECK(sizes == std::vector<std::int64_t>{5, 5});
    }
    {
      DataLoader loader(ds, 32, shuffle, rng);  // batch larger than the dataset
      std::vector<std::int64_t> sizes;
      run_epoch(loader, 6, &sizes);
      CHECK(sizes == std::vector<std::int64_t>{10});
      DataLoader dropping(ds, 32, shuffle, rng, true);
      CHECK(dropping.batches_per_epoch() == 0);
      CHECK(run_epoch(dropping, 6).empty());
    }
  }
  CHECK_THROWS_AS(DataLoader(ds, 0, false, rng), bend::ValueError);
  TensorDataset broken = ds;
  broken.labels.pop_back();
  CHECK_THROWS_AS(DataLoader(broken, 4, false, rng), bend::ShapeError);
}

TEST_CASE("loader: file order without shuffle, as views of the dataset", "[loader]") {
  const TensorDataset ds = numbered_dataset(10);
  Rng rng(1);
  DataLoader loader(ds, 4, false, rng);
  for (int epoch = 0; epoch < 2; ++epoch) CHECK(run_epoch(loader, 6) == iota_vector(10));

  loader.start_epoch();
  Batch batch;
  REQUIRE(loader.next(batch));
  REQUIRE(loader.next(batch));
  CHECK(batch.index == 1);
  CHECK(batch.images.data() == ds.images.data() + 4 * 6);  // no copy
  CHECK(batch.labels.data() != ds.labels.data() + 4);      // the loader's own copy of the labels
  CHECK_FALSE(batch.images.requires_grad());
}

TEST_CASE("loader: next() before start_epoch() starts the first epoch; an ended epoch stays ended",
          "[loader]") {
  const TensorDataset ds = numbered_dataset(7);
  Rng rng(3);
  DataLoader loader(ds, 3, true, rng);
  auto order = run_epoch(loader, 6, nullptr, /*start=*/false);
  CHECK(loader.epoch() == 1);
  std::sort(order.begin(), order.end());
  CHECK(order == iota_vector(7));
  Batch batch;
  CHECK_FALSE(loader.next(batch));
  CHECK_FALSE(loader.next(batch));
}

TEST_CASE("loader: shuffling visits every sample once per epoch, in a new order each epoch", "[loader]") {
  const TensorDataset ds = numbered_dataset(103);
  Rng rng(7);
  DataLoader loader(ds, 16, true, rng);
  std::set<std::vector<std::int64_t>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) {
    const auto order = run_epoch(loader, 6);
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == iota_vector(103));
    CHECK(order != iota_vector(103));
    orders.insert(order);
  }
  CHECK(orders.size() == 4);
  CHECK(loader.epoch() == 4);
}

TEST_CASE("loader: the shuffled order is deterministic per seed", "[loader]") {
  const TensorDataset ds = numbered_dataset(50);
  auto epochs_for_seed = [&](std::uint64_t seed) {
    Rng rng(seed);
    DataLoader loader(ds, 8, true, rng);
    std::vector<std::vector<std::int64_t>> out;
    for (int e = 0; e < 3; ++e) out.push_back(run_epoch(loader, 6));
    return out;
  };
  CHECK(epochs_for_seed(42) == epochs_for_seed(42));
  CHECK(epochs_for_seed(42) != epochs_for_seed(43));

  // Fisher-Yates from file order with rng.below(): pin the exact algorithm so orders stay reproducible.
  Rng reference_rng(42);
  std::vector<std::int64_t> expected = iota_vector(50);
  for (std::int64_t i = 49; i > 0; --i)
    std::swap(expected[static_cast<std::size_t>(i)],
              expected[static_cast<std::size_t>(reference_rng.below(static_cast<std::uint64_t>(i + 1)))]);
  CHECK(epochs_for_seed(42)[0] == expected);
}

TEST_CASE("loader: resuming from the rng state at an epoch boundary or from LoaderState mid-epoch",
          "[loader]") {
  const TensorDataset ds = numbered_dataset(45);
  Rng rng(11);
  DataLoader loader(ds, 8, true, rng);
  run_epoch(loader, 6);

  // Epoch boundary: the rng state alone reproduces the next epoch.
  const Rng::State boundary = rng.state();
  const auto next_epoch = run_epoch(loader, 6);
  Rng other_rng(999);
  other_rng.set_state(boundary);
  DataLoader resumed_at_boundary(ds, 8, true, other_rng);
  CHECK(run_epoch(resumed_at_boundary, 6) == next_epoch);

  // Mid-epoch: LoaderState plus the rng state reproduce the rest of this epoch and the next one.
  loader.start_epoch();
  Batch batch;
  REQUIRE(loader.next(batch));
  REQUIRE(loader.next(batch));
  const bend::LoaderState saved = loader.state();
  const Rng::State saved_rng = rng.state();
  CHECK(saved.next_batch == 2);
  CHECK(saved.epoch == 3);
  CHECK(saved.order.size() == 45);
  const auto rest = run_epoch(loader, 6, nullptr, false);
  const auto after = run_epoch(loader, 6);

  Rng restored_rng(0);
  restored_rng.set_state(saved_rng);
  DataLoader restored(ds, 8, true, restored_rng);
  restored.set_state(saved);
  CHECK(restored.epoch() == 3);
  CHECK(run_epoch(restored, 6, nullptr, false) == rest);
  CHECK(run_epoch(restored, 6) == after);

  // Invalid states are refused.
  bend::LoaderState bad = saved;
  bad.order[0] = bad.order[1];
  CHECK_THROWS_AS(restored.set_state(bad), bend::ValueError);
  bad = saved;
  bad.order.pop_back();
  CHECK_THROWS_AS(restored.set_state(bad), bend::ValueError);
  bad = saved;
  bad.next_batch = 7;
  CHECK_THROWS_AS(restored.set_state(bad), bend::ValueError);

  // A file-order loader saves no order and refuses a shuffled one.
  DataLoader plain(ds, 8, false, rng);
  plain.start_epoch();
  REQUIRE(plain.next(batch));
  const bend::LoaderState plain_state = plain.state();
  CHECK(plain_state.order.empty());
  CHECK(plain_state.next_batch == 1);
  DataLoader plain_restored(ds, 8, false, rng);
  plain_restored.set_state(plain_state);
  REQUIRE(plain_restored.next(batch));
  CHECK(batch.index == 1);
  CHECK(samples_of(batch, 6).front() == 8);
  CHECK_THROWS_AS(plain_restored.set_state(saved), bend::ValueError);
}

TEST_CASE("loader: a second epoch creates no buffers or tensor objects", "[loader]") {
  const TensorDataset ds = numbered_dataset(1000, 28, 28);
  Rng rng(5);
  for (bool shuffle : {true, false}) {
    INFO("shuffle " << shuffle);
    DataLoader loader(ds, 64, shuffle, rng);  // 15 full batches and one of 40
    Batch batch;
    loader.start_epoch();
    while (loader.next(batch)) {
    }
    const bend::MemoryStats before = bend::memory_stats();
    for (int epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch();
      std::int64_t batches = 0;
      while (loader.next(batch)) ++batches;
      CHECK(batches == 16);
    }
    const bend::MemoryStats after = bend::memory_stats();
    CHECK(after.buffers_created == before.buffers_created);
    CHECK(after.objects_created == before.objects_created);
  }
}

TEST_CASE("loader: to_tensor_dataset scales pixels to [0, 1]", "[loader]") {
  bend::ImageDataset raw;
  raw.count = 2;
  raw.rows = 1;
  raw.cols = 3;
  raw.pixels = {0, 255, 51, 1, 128, 254};
  raw.labels = {3, 9};
  raw.name = "tiny/train";
  const TensorDataset ds = bend::to_tensor_dataset(raw);
  CHECK(ds.images.shape() == bend::Shape{2, 3});
  const std::vector<float> expected = {0.0f,           1.0f, 51.0f / 255.0f, 1.0f / 255.0f, 128.0f / 255.0f,
                                       254.0f / 255.0f};
  CHECK(ds.images.to_vector() == expected);
  CHECK(ds.labels == std::vector<std::int32_t>{3, 9});
  CHECK(ds.rows == 1);
  CHECK(ds.cols == 3);
  CHECK(ds.features() == 3);
  CHECK(ds.name == "tiny/train");

  raw.pixels.pop_back();
  CHECK_THROWS_AS(bend::to_tensor_dataset(raw), bend::ValueError);
}

TEST_CASE("loader: subset copies a range", "[loader]") {
  const TensorDataset ds = numbered_dataset(10);
  TensorDataset part = bend::subset(ds, 3, 4);
  CHECK(part.size() == 4);
  CHECK(part.images.shape() == bend::Shape{4, 6});
  CHECK(part.images.at({0, 0}) == 3.0f);
  CHECK(part.labels == std::vector<std::int32_t>{3, 4, 5, 6});
  part.images.fill_(-1.0f);  // independent of the original
  CHECK(ds.images.at({3, 0}) == 3.0f);
  CHECK(bend::subset(ds, 10, 0).size() == 0);
  CHECK_THROWS_AS(bend::subset(ds, 8, 3), bend::ValueError);
  CHECK_THROWS_AS(bend::subset(ds, -1, 2), bend::ValueError);
}

TEST_CASE("loader: normalization with the training statistics", "[loader]") {
  Rng rng(9);
  TensorDataset train;
  train.rows = train.cols = 8;
  train.images = bend::Tensor::uniform(bend::Shape{500, 64}, 0.0f, 1.0f, rng);
  train.labels.assign(500, 0);
  TensorDataset test = train;
  test.images = bend::Tensor::uniform(bend::Shape{200, 64}, 0.0f, 1.0f, rng);
  test.labels.assign(200, 0);

  const bend::Normalization stats = bend::compute_normalization(train);
  CHECK(stats.mean == Approx(0.5).margin(0.01));
  CHECK(stats.std == Approx(1.0 / std::sqrt(12.0)).epsilon(0.02));
  bend::normalize(train, stats);
  bend::normalize(test, stats);
  const bend::Normalization after = bend::compute_normalization(train);
  CHECK(after.mean == Approx(0.0).margin(1e-5));
  CHECK(after.std == Approx(1.0).epsilon(1e-5));
  const bend::Normalization test_after = bend::compute_normalization(test);
  CHECK(test_after.mean == Approx(0.0).margin(0.05));
  CHECK(test_after.std == Approx(1.0).epsilon(0.05));

  CHECK_THROWS_AS(bend::normalize(train, {0.0f, 0.0f}), bend::ValueError);
  CHECK_THROWS_AS(bend::normalize(train, {NAN, 1.0f}), bend::ValueError);
  CHECK_THROWS_AS(bend::compute_normalization(TensorDataset{}), bend::ValueError);
}

TEST_CASE("loader: unknown dataset names are refused", "[loader]") {
  CHECK_THROWS_AS(bend::load_tensor_dataset("cifar", "", bend::Split::Train), bend::ValueError);
}

TEST_CASE("loader: real MNIST train and test splits", "[loader][mnist]") {
  const std::filesystem::path dir = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
  std::error_code ec;
  if (!bend::testing::require_available(std::filesystem::exists(dir / "t10k-labels-idx1-ubyte", ec) ||
                                            std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz", ec),
                                        "MNIST in " + dir.string(), "run data/fetch-mnist.sh"))
    return;
  const TensorDataset train = bend::load_tensor_dataset("mnist", dir, bend::Split::Train);
  const TensorDataset test = bend::load_tensor_dataset("mnist", dir, bend::Split::Test);
  CHECK(train.images.shape() == bend::Shape{60000, 784});
  CHECK(test.images.shape() == bend::Shape{10000, 784});
  CHECK(train.labels.size() == 60000);
  CHECK(test.labels.size() == 10000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  CHECK(train.num_classes == 10);
  CHECK(train.name == "mnist/train");
  CHECK(test.name == "mnist/test");
  for (const TensorDataset* ds : {&train, &test}) {
    const auto [lo, hi] = std::minmax_element(ds->images.span().begin(), ds->images.span().end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    CHECK(*std::max_element(ds->labels.begin(), ds->labels.end()) == 9);
    CHECK(*std::min_element(ds->labels.begin(), ds->labels.end()) == 0);
  }
  // The well-known MNIST training statistics (torchvision's Normalize((0.1307,), (0.3081,))).
  const bend::Normalization stats = bend::compute_normalization(train);
  CHECK(stats.mean == Approx(0.1307).margin(1e-4));
  CHECK(stats.std == Approx(0.3081).margin(1e-4));
  // The first training label of MNIST is a 5.
  CHECK(train.labels[0] == 5);
}

}  // namespace BEND_UNITY_ID
