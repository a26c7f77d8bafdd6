// Smoke test of the speed benchmark's code path (bench/bend_bench.cpp) at tiny sizes, so the benchmark
// keeps compiling and running as the library changes: the timed training loop on synthetic data, the
// GEMM floor, the activation microbenchmark and the JSON records run.sh parses.
#define BEND_BENCH_NO_MAIN
#include "../bench/bend_bench.cpp"

#include <catch2/catch.hpp>

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

// A few hundred random "images" with random labels: enough for a couple of batches per epoch.
bend::TensorDataset synthetic(std::int64_t count, std::uint64_t seed) {
  bend::Rng rng(seed);
  bend::TensorDataset d;
  d.rows = 28;
  d.cols = 28;
  d.name = "synthetic";
  d.images = bend::Tensor::uniform(bend::Shape{count, 784}, 0.0f, 1.0f, rng);
  for (std::int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  return d;
}

}  // namespace

TEST_CASE("bend_bench: the timed training loop runs and its phases add up", "[bench]") {
  const bend::TensorDataset train = synthetic(200, 1), test = synthetic(50, 2);
  for (const char* opt : {"adam", "sgd"})
    for (const bool update_in_backward : {true, false}) {
      INFO(opt << (update_in_backward ? ", updates during backward" : ", step after backward"));
      bend::bench::BenchOptions o;
      o.arch = "784-16-8-10";
      o.opt = opt;
      o.update_in_backward = update_in_backward;
      o.batch = 64;
      o.epochs = 2;
      o.threads = 1;
      o.warmup_steps = 3;
      int callbacks = 0;
      const auto run =
          bend::bench::run_training(o, train, test, [&](const bend::bench::EpochReport&) { ++callbacks; });
      REQUIRE(run.epochs.size() == 2);
      CHECK(callbacks == 2);
      for (const auto& e : run.epochs) {
        CHECK(e.steps == 4);  // ceil(200 / 64)
        CHECK(e.seconds > 0);
        CHECK(e.phases.forward > 0);
        CHECK(e.phases.backward > 0);
        // During backward, the updates are timed as part of it.
        CHECK((update_in_backward ? e.phases.optimizer == 0 : e.phases.optimizer > 0));
        CHECK(e.phases.zero_grad >= 0);
        CHECK(e.phases.sum() <= e.seconds * 1.01 + 1e-4);
        CHECK(std::isfinite(e.train_loss));
        CHECK(e.test_accuracy >= 0.0);
        CHECK(e.test_accuracy <= 1.0);
      }
      const auto record = bend::bench::epoch_json(run.epochs[0], 200);
      CHECK(record.at("phases").at("backward").get<double>() > 0);
      CHECK(nlohmann::json::parse(record.dump()).at("epoch") == 1);
    }
}

TEST_CASE("bend_bench: the Trainer's phase marks add up to the epoch", "[bench]") {
  for (const bool update_in_backward : {true, false}) {
    INFO((update_in_backward ? "updates during backward" : "step after backward"));
    bend::bench::BenchOptions o;
    o.arch = "784-16-10";
    o.batch = 100;
    o.epochs = 1;
    o.threads = 1;
    o.warmup_steps = 1;
    o.update_in_backward = update_in_backward;
    const auto run = bend::bench::run_training(o, synthetic(200, 3), synthetic(50, 4));
    REQUIRE(run.epochs.size() == 1);
    CHECK(run.epochs[0].steps == 2);
    CHECK(run.epochs[0].seconds > 0);
    const auto& p = run.epochs[0].phases;
    CHECK(p.forward > 0);
    CHECK(p.backward > 0);
    CHECK((update_in_backward ? p.optimizer == 0 : p.optimizer > 0));
    CHECK(p.sum() == Approx(run.epochs[0].seconds).epsilon(1e-6));
  }
}

TEST_CASE("bend_bench: GEMM floor shapes follow the library's products", "[bench]") {
  const auto shapes = bend::bench::step_gemm_shapes({784, 256, 128, 10}, 64);
  // Forward and dW for three layers, dX for layers 2 and 3 only.
  REQUIRE(shapes.size() == 8);
  CHECK(shapes[0].role == "fwd L1");
  CHECK((shapes[0].m == 64 && shapes[0].n == 256 && shapes[0].k == 784 && shapes[0].transpose_b));
  CHECK((shapes[1].m == 256 && shapes[1].n == 784 && shapes[1].k == 64 && shapes[1].transpose_a));
  CHECK((shapes[4].role == "dX L2" && shapes[4].m == 64 && shapes[4].n == 256 && shapes[4].k == 128));

  bend::set_num_threads(1);
  const auto floor = bend::bench::measure_gemm_floor({784, 32, 10}, 16, 160, /*threads=*/2, /*min_calls=*/2);
  REQUIRE(floor.shapes.size() == 5);
  CHECK(floor.step_seconds > 0);
  CHECK(floor.epoch_seconds == Approx(floor.step_seconds * 10));
  CHECK(floor.gflops() > 0);
  CHECK(bend::bench::gemm_json(floor).at("shapes").size() == 5);
}

TEST_CASE("bend_bench: the activation microbenchmark covers the table", "[bench]") {
  const auto rates = bend::bench::measure_activations(4096, 1024, /*rounds=*/1);
  REQUIRE(rates.size() == bend::activation_table().size());
  for (const auto& r : rates) {
    INFO(r.name);
    CHECK(r.forward_gbps > 0);
    CHECK(r.backward_gbps > 0);
    CHECK(r.cached_forward_ns > 0);
    CHECK(r.cached_backward_ns > 0);
  }
  CHECK(bend::bench::median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(bend::bench::median({4.0, 1.0, 2.0, 3.0}) == 2.5);
}

TEST_CASE("bend_bench: the core check times one sgemm alone and on every thread", "[bench]") {
  const auto check = bend::bench::measure_core_check(/*threads=*/2, /*calls=*/3);
  CHECK(check.threads == 2);
  CHECK(check.solo_us > 0);
  CHECK(check.concurrent_us > 0);
  CHECK(check.efficiency() > 0);
  bend::set_num_threads(0);
}

}  // namespace BEND_UNITY_ID
