// bend's thread pool (bend/parallel.hpp) and the kernels it splits: every part runs exactly once,
// nested regions do not deadlock, and split products, pointwise loops and optimizer updates give the
// same numbers on 2 and 3 threads as on 1 (up to rounding for products; exactly for elementwise
// loops) and as a double reference.
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using bend::testing::check_close;

namespace {

// Restores the default thread count when a test ends, however it ends.
struct ThreadsGuard {
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(0); }
};

// C = op(A)·op(B) in double; A is [m,k] (stored [k,m] when ta), B is [k,n] (stored [n,k] when tb).
std::vector<double> reference_product(const Tensor& a, const Tensor& b, bool ta, bool tb, std::int64_t m,
                                      std::int64_t n, std::int64_t k) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::int64_t p = 0; p < k; ++p)
        sum += static_cast<double>(ta ? a.data()[p * m + i] : a.data()[i * k + p]) *
               static_cast<double>(tb ? b.data()[j * k + p] : b.data()[p * n + j]);
      c[static_cast<std::size_t>(i * n + j)] = sum;
    }
  return c;
}

std::vector<float> values(const Tensor& t) { return {t.data(), t.data() + t.numel()}; }

// Equal up to float rounding: a block of a product is not always summed in the same order as the whole
// (OpenBLAS's edge kernels), so thread counts may differ in the last bits, as with OpenBLAS's own
// threads. A given thread count always gives the same bits.
void check_same_up_to_rounding(const std::vector<float>& actual, const std::vector<float>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << ": " << actual[i] << " vs " << expected[i]);
    REQUIRE(std::abs(actual[i] - expected[i]) <= 1e-5f * (1.0f + std::abs(expected[i])));
  }
}

}  // namespace

TEST_CASE("parallel_for runs every part exactly once, on as many threads as asked", "[parallel]") {
  for (int threads : {1, 2, 3}) {
    ThreadsGuard guard(threads);
    REQUIRE(num_threads() == threads);
    for (int parts : {1, 2, 3, 8}) {
      std::vector<std::atomic<int>> runs(8);
      std::atomic<int> seen_parts{-1};
      for (int repeat = 0; repeat < 200; ++repeat)
        parallel_for(parts, [&](int part, int total) {
          runs[static_cast<std::size_t>(part)].fetch_add(1);
          seen_parts.store(total);
        });
      const int expected_parts = std::min(parts, threads);
      CHECK(seen_parts.load() == expected_parts);
      for (int p = 0; p < 8; ++p)
        CHECK(runs[static_cast<std::size_t>(p)].load() == (p < expected_parts ? 200 : 0));
    }
  }
}

TEST_CASE("a region started inside a region runs serially instead of deadlocking", "[parallel]") {
  ThreadsGuard guard(2);
  std::atomic<int> inner{0}, wrong_parts{0};  // (Catch2's CHECK is not thread-safe: count, check after)
  parallel_for(2, [&](int, int) {
    parallel_for(2, [&](int, int parts) {
      if (parts != 2) wrong_parts.fetch_add(1);
      inner.fetch_add(1);
    });
  });
  CHECK(inner.load() == 4);
  CHECK(wrong_parts.load() == 0);
}

TEST_CASE("split_range cuts a range into aligned, disjoint, covering pieces", "[parallel]") {
  for (std::int64_t total : {0, 1, 15, 16, 17, 100, 1000, 4099})
    for (int parts : {1, 2, 3, 7}) {
      std::int64_t next = 0;
      for (int p = 0; p < parts; ++p) {
        const auto [begin, end] = split_range(total, p, parts, 16);
        CHECK(begin == next);
        CHECK(end >= begin);
        if (end < total) CHECK(end % 16 == 0);
        next = end;
      }
      CHECK(next == total);
    }
}

TEST_CASE("set_num_threads validates its argument and BEND_NUM_THREADS", "[parallel]") {
  CHECK_THROWS_AS(set_num_threads(-1), ValueError);
  ::setenv("BEND_NUM_THREADS", "three", 1);
  CHECK_THROWS_WITH(default_num_threads(), Catch::Contains("BEND_NUM_THREADS"));
  ::setenv("BEND_NUM_THREADS", "3", 1);
  CHECK(default_num_threads() == 3);
  ::unsetenv("BEND_NUM_THREADS");
  CHECK(default_num_threads() >= 1);
  set_num_threads(0);
  CHECK(num_threads() == default_num_threads());
}

TEST_CASE("split matrix products match the double reference and the one-thread result", "[parallel]") {
  Rng rng(11);
  // Large enough to be split; the shapes exercise both cuts (rows when m is large, columns when n is).
  struct Case {
    std::int64_t m, n, k;
  };
  for (const Case c : {Case{64, 256, 784}, Case{256, 200, 64}, Case{96, 80, 70}, Case{37, 530, 41}}) {
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        INFO("m " << c.m << " n " << c.n << " k " << c.k << " ta " << ta << " tb " << tb);
        const Tensor a = Tensor::uniform(ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, -1.0f, 1.0f, rng);
        const Tensor b = Tensor::uniform(tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, -1.0f, 1.0f, rng);
        std::vector<float> one_thread;
        for (int threads : {1, 2, 3}) {
          ThreadsGuard guard(threads);
          const Tensor product = matmul(a, b, ta, tb);
          REQUIRE(product.shape() == (Shape{c.m, c.n}));
          if (threads == 1) {
            check_close(product, reference_product(a, b, ta, tb, c.m, c.n, c.k), 1e-4, 1e-4);
            one_thread = values(product);
          } else
            check_same_up_to_rounding(values(product), one_thread);
          CHECK(values(matmul(a, b, ta, tb)) == values(product));  // the same thread count: the same bits
        }
      }
  }
}

TEST_CASE("a split linear layer gives the same output and gradients as on one thread", "[parallel]") {
  Rng rng(12);
  const Tensor x = testing::random_tensor(Shape{64, 300}, rng);
  const Tensor w = testing::random_tensor(Shape{96, 300}, rng, -0.1f, 0.1f);
  const Tensor b = testing::random_tensor(Shape{96}, rng);
  const Tensor upstream = Tensor::uniform(Shape{64, 96}, -1.0f, 1.0f, rng);
  std::vector<float> y1, gx1, gw1, gb1;
  for (int threads : {1, 2}) {
    ThreadsGuard guard(threads);
    for (Tensor t : {x, w, b}) t.zero_grad();
    Tensor y = gelu(linear(x, w, b));
    sum(mul(y, upstream)).backward();
    if (threads == 1) {
      y1 = values(y), gx1 = values(x.grad()), gw1 = values(w.grad()), gb1 = values(b.grad());
      // The bias gradient is the column sum of dL/dZ: non-zero for this data.
      CHECK(std::any_of(gb1.begin(), gb1.end(), [](float v) { return v != 0.0f; }));
    } else {
      check_same_up_to_rounding(values(y), y1);
      check_same_up_to_rounding(values(x.grad()), gx1);
      check_same_up_to_rounding(values(w.grad()), gw1);
      check_same_up_to_rounding(values(b.grad()), gb1);
    }
  }
}

TEST_CASE("optimizer updates split across threads equal the one-thread update", "[parallel]") {
  const auto run = [](int threads, bool adam) {
    ThreadsGuard guard(threads);
    Rng rng(13);
    Tensor p = Tensor::uniform(Shape{300, 200}, -1.0f, 1.0f, rng).requires_grad_();
    std::unique_ptr<optim::Optimizer> opt;
    if (adam)
      opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, 1e-2, std::pair{0.9, 0.999}, 1e-8, 0.1);
    else
      opt = std::make_unique<optim::SGD>(std::vector<Tensor>{p}, 0.1, 0.9);
    for (int step = 0; step < 3; ++step) {
      opt->zero_grad();
      sum(mul(p, p)).backward();
      opt->step();
    }
    return values(p);
  };
  for (bool adam : {false, true}) {
    // The gradient here is elementwise (2p), so the update is too: exactly equal.
    const std::vector<float> one = run(1, adam);
    CHECK(run(2, adam) == one);
    CHECK(run(3, adam) == one);
  }
}

TEST_CASE("set_flush_denormal reaches the calling thread and bend's workers", "[parallel]") {
  ThreadsGuard guard(2);
  volatile float tiny = 1e-38f;  // volatile: computed at run time, under the thread's mode
  const auto halve_on_every_part = [&] {
    std::vector<float> out(2, -1.0f);
    parallel_for(2, [&](int part, int) { out[static_cast<std::size_t>(part)] = tiny * 0.5f; });
    return out;
  };
  REQUIRE(!flush_denormal());
  CHECK(halve_on_every_part() == std::vector<float>{5e-39f, 5e-39f});  // IEEE: a subnormal result
  if (!set_flush_denormal(true)) return;                               // no such mode on this CPU
  CHECK(flush_denormal());
  CHECK(halve_on_every_part() == std::vector<float>{0.0f, 0.0f});
  set_flush_denormal(false);
  CHECK(halve_on_every_part() == std::vector<float>{5e-39f, 5e-39f});
}

TEST_CASE("ThreadBudget: two threads each run their regions on a pool of their own", "[parallel]") {
  ThreadsGuard shared(3);
  std::atomic<int> failures{0};
  auto run = [&](int threads) {
    ThreadBudget budget(threads);
    if (num_threads() != threads) ++failures;
    for (int repeat = 0; repeat < 200; ++repeat) {
      std::vector<int> hits(static_cast<std::size_t>(threads), 0);
      std::vector<std::thread::id> ids(static_cast<std::size_t>(threads));
      parallel_for(threads, [&](int part, int parts) {
        if (parts != threads) ++failures;
        ++hits[static_cast<std::size_t>(part)];
        ids[static_cast<std::size_t>(part)] = std::this_thread::get_id();
      });
      for (int h : hits) failures += h != 1;
      // Two parts ran on two threads at once (the shared pool would run one run's parts serially).
      if (threads > 1 && ids[0] == ids[1]) ++failures;
    }
  };
  std::thread a(run, 2), b(run, 2);
  a.join();
  b.join();
  CHECK(failures == 0);
  CHECK(num_threads() == 3);  // the shared pool is untouched
  CHECK_THROWS_AS(ThreadBudget(0), ValueError);
}

}  // namespace BEND_UNITY_ID
