// Memory stays flat over long runs: resident memory (RSS) after the second epoch of a 100-epoch run,
// and after the second run of a 60-run comparison in one process, grows by at most 1% to the end.
// (scripts/memory-flat.py measures the same at full size through the CLI.)
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "bend/bend.hpp"
#include "bend/lab/compare.hpp"
#include "bend/train/trainer.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

// Sanitizers keep freed memory in quarantine on purpose: RSS grows there by design.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {

using namespace bend;

// This process's resident memory in bytes (/proc/self/statm's second field, in pages).
std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  REQUIRE(resident > 0);
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

// A 4-class problem on `features` "pixels" (two of which decide the class).
TensorDataset blobs(std::int64_t n, std::uint64_t seed, std::int64_t features = 16) {
  Rng rng(seed);
  TensorDataset d;
  d.rows = 1;
  d.cols = features;
  d.num_classes = 4;
  d.images = Tensor::uniform({n, features}, 0, 1, rng);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = d.images.data() + i * features;
    d.labels.push_back((row[0] > 0.5f ? 1 : 0) + (row[5] > 0.5f ? 2 : 0));
  }
  return d;
}

void require_flat(const std::vector<std::int64_t>& rss, std::size_t count) {
  REQUIRE(rss.size() == count);
  INFO("RSS after #2 " << rss[1] << " bytes, at the end " << rss.back() << " bytes");
  CHECK(static_cast<double>(rss.back()) <= 1.01 * static_cast<double>(rss[1]));
}

}  // namespace

TEST_CASE("memory: RSS grows by at most 1% from epoch 2 to epoch 100", "[memory][trainer]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_memory_flat";
  std::filesystem::remove_all(dir);
  train::TrainConfig config;
  config.batch = 32;
  config.epochs = 100;
  config.threads = 1;
  config.schedule = "none";
  config.optimizer_options["lr"] = 1e-2;
  config.checkpoint_dir = dir;  // a checkpoint every epoch and every 7 steps, as a long run writes them
  config.checkpoint_every = 7;
  struct Rss : train::TrainObserver {
    std::vector<std::int64_t> after_epoch;
    void on_epoch(const train::EpochMetrics&) override { after_epoch.push_back(resident_bytes()); }
  } rss;
  train::Trainer trainer(
      config,
      train::model_source(nn::ModelSpec::parse("16-64-64-4", "gelu", "none", 0.1f), nn::init::Scheme::Torch),
      blobs(512, 1), blobs(128, 2));
  trainer.run(&rss);
  require_flat(rss.after_epoch, 100);
  std::filesystem::remove_all(dir);
}

TEST_CASE("memory: RSS grows by at most 1% from run 2 to run 60 of a comparison", "[memory][compare]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_memory_flat_compare";
  std::filesystem::remove_all(dir);
  lab::CompareOptions options;
  options.base.batch = 32;
  options.base.epochs = 2;
  options.base.threads = 1;
  // MNIST's width on 4,096 images: as in a real sweep, the data and the model, not the allocator's
  // page-level churn of a toy, set the baseline (the results kept for the report add about 1 KB a run).
  options.arch = "784-64-4";
  options.activations = {"relu", "tanh", "gelu", "silu", "sigmoid", "elu"};
  options.seeds = 10;
  options.probe_size = 64;
  options.run_dir = dir;  // every run's file is written, as `bend compare` does
  struct Rss : lab::CompareObserver {
    std::vector<std::int64_t> after_run;
    void on_run_end(std::size_t, const lab::RunRecord&) override { after_run.push_back(resident_bytes()); }
  } rss;
  const lab::CompareResult result = lab::run_compare(options, blobs(4096, 1, 784), blobs(256, 2, 784), &rss);
  CHECK(result.runs.size() == 60);
  require_flat(rss.after_run, 60);
  std::filesystem::remove_all(dir);
}
#endif

}  // namespace BEND_UNITY_ID
