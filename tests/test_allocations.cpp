// A steady training loop allocates nothing: every tensor buffer, tensor object and tape entry comes
// from the recycling caches after the first steps. Counted two ways: the caches' own counters, and
// every call to the global operator new in this test binary (allocation_counter.cpp).
#include <catch2/catch.hpp>

#include "allocation_counter.hpp"
#include "bend/bend.hpp"
#include "bend/dist/gradient_buckets.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

TEST_CASE("a steady training step makes no heap allocation", "[autograd][memory]") {
  Rng rng(5);
  Tensor w1 = Tensor::uniform({32, 16}, -0.2f, 0.2f, rng).requires_grad_();
  Tensor b1 = Tensor::zeros({32}).requires_grad_();
  Tensor w2 = Tensor::uniform({4, 32}, -0.2f, 0.2f, rng).requires_grad_();
  Tensor b2 = Tensor::zeros({4}).requires_grad_();
  Tensor x = Tensor::uniform({8, 16}, -1, 1, rng);
  std::vector<std::int32_t> y = {0, 1, 2, 3, 0, 1, 2, 3};
  std::vector<Tensor> params = {w1, b1, w2, b2};

  auto step = [&] {
    for (Tensor& p : params) p.zero_grad();
    Tensor h = exp(linear(x, w1, b1) * -0.5f);  // a smooth nonlinearity from core ops
    Tensor loss = cross_entropy(linear(h, w2, b2), y) + mean(h) * 0.01f;
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : params) {
      float* d = p.data();
      const float* g = p.grad().data();
      for (std::int64_t i = 0; i < p.numel(); ++i) d[i] -= 0.1f * g[i];
    }
    return loss.item();
  };
  const float first = step();
  for (int i = 0; i < 3; ++i) step();  // warm the caches

  const MemoryStats before = memory_stats();
  const std::uint64_t heap_before = bend::testing::heap_allocations();
  float last = 0;
  for (int i = 0; i < 20; ++i) last = step();
  const std::uint64_t heap_after = bend::testing::heap_allocations();
  const MemoryStats after = memory_stats();

  CHECK(heap_after - heap_before == 0);
  CHECK(after.buffers_created == before.buffers_created);
  CHECK(after.objects_created == before.objects_created);
  CHECK(after.buffers_reused > before.buffers_reused);
  CHECK(last < first);
}

TEST_CASE("a steady data-parallel step (grad-ready hook, gradient buckets) makes no heap allocation",
          "[autograd][memory][ddp]") {
  Rng rng(6);
  std::vector<Tensor> params = {Tensor::uniform({32, 16}, -0.2f, 0.2f, rng).requires_grad_(),
                                Tensor::zeros({32}).requires_grad_(),
                                Tensor::uniform({4, 32}, -0.2f, 0.2f, rng).requires_grad_(),
                                Tensor::zeros({4}).requires_grad_()};
  Tensor x = Tensor::uniform({8, 16}, -1, 1, rng);
  std::vector<std::int32_t> y = {0, 1, 2, 3, 0, 1, 2, 3};
  // A world of one (this test is not under mpirun); 256-byte buckets, so there are several.
  dist::GradientBuckets buckets(dist::world(), params, 256);
  REQUIRE(buckets.bucket_count() > 1);
  auto step = [&] {
    for (Tensor& p : params) p.zero_grad();
    Tensor loss = cross_entropy(linear(tanh(linear(x, params[0], params[1])), params[2], params[3]), y);
    buckets.begin(1.0f);
    {
      GradReadyHookScope hook(buckets.hook());
      loss.backward();
    }
    buckets.finish();
    NoGradGuard no_grad;
    for (Tensor& p : params) {
      float* d = p.data();
      const float* g = p.grad().data();
      for (std::int64_t i = 0; i < p.numel(); ++i) d[i] -= 0.1f * g[i];
    }
    return loss.item();
  };
  const float first = step();
  for (int i = 0; i < 3; ++i) step();
  const std::uint64_t heap_before = bend::testing::heap_allocations();
  float last = 0;
  for (int i = 0; i < 20; ++i) last = step();
  CHECK(bend::testing::heap_allocations() - heap_before == 0);
  CHECK(last < first);
}

TEST_CASE("a steady CNN step (conv, pooling, normalisation) makes no heap allocation", "[layers][memory]") {
  Rng rng(6);
  nn::Sequential net{nn::Conv2d(1, 6, 5, 1, 0, 1, true, rng),
                     nn::BatchNorm2d(6),
                     nn::ReLU(),
                     nn::MaxPool2d(2),
                     nn::Conv2d(6, 8, 3, 1, 1, 1, true, rng),
                     nn::AvgPool2d(2),
                     nn::Flatten(),
                     nn::LayerNorm(72),
                     nn::Linear(72, 4, true, rng)};
  Tensor x = Tensor::uniform({16, 1, 16, 16}, 0.0f, 1.0f, rng);  // large enough to split the convolutions
  std::vector<std::int32_t> y(16);
  for (std::size_t k = 0; k < y.size(); ++k) y[k] = static_cast<std::int32_t>(k % 4);
  const std::vector<Tensor> params = net.parameters();

  auto step = [&] {
    for (Tensor p : params) p.zero_grad();  // (Module::zero_grad lists its parameters: a vector)
    Tensor loss = cross_entropy(net(x), y);
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor p : params) {
      float* d = p.data();
      const float* g = p.grad().data();
      for (std::int64_t i = 0; i < p.numel(); ++i) d[i] -= 0.05f * g[i];
    }
    return loss.item();
  };
  const float first = step();
  for (int i = 0; i < 3; ++i) step();

  const std::uint64_t heap_before = bend::testing::heap_allocations();
  float last = 0;
  for (int i = 0; i < 10; ++i) last = step();
  CHECK(bend::testing::heap_allocations() - heap_before == 0);
  CHECK(last < first);
}

TEST_CASE("steady batched inference (train::Predictor) makes no heap allocation", "[memory][predict]") {
  Rng rng(7);
  const nn::SampleShape image = {1, 12, 12};
  // Small and large enough for every inference path: sgemm, the few-channel conv loop and, on an AVX-512
  // CPU, bend's own tiles in linear (>= 32 outputs) and conv2d (> 6 channels).
  for (const char* arch : {"144-32-10", "c4k3-p2-16-10", "c8k3-p2-40-10", "144-64-40-10"}) {
    INFO(arch);
    nn::Sequential model = nn::build_model(nn::ModelSpec::parse(arch, "relu", "batch", 0.0f, &image),
                                           nn::init::Scheme::Auto, rng);
    const std::int64_t count = 70, features = 144;  // batches of 32, 32 and 6
    Tensor images = Tensor::uniform({count, features}, 0, 1, rng);
    std::vector<std::int32_t> labels(count);
    std::vector<float> probabilities(count * 10);
    train::Predictor predictor(model, features, 32);
    for (int i = 0; i < 3; ++i) predictor.classify(images.data(), count, labels.data(), probabilities.data());
    const std::vector<std::int32_t> first = labels;

    const MemoryStats before = memory_stats();
    const std::uint64_t heap_before = bend::testing::heap_allocations();
    for (int i = 0; i < 10; ++i)
      predictor.classify(images.data(), count, labels.data(), probabilities.data());
    CHECK(bend::testing::heap_allocations() - heap_before == 0);
    CHECK(memory_stats().buffers_created == before.buffers_created);
    CHECK(labels == first);
    CHECK(predictor.classes() == 10);
    CHECK(!model.is_training());
  }
}

}  // namespace BEND_UNITY_ID
