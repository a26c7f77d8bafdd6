// The tape: accumulation, reuse of a tensor, branch and join, NoGradGuard, errors.
#include <catch2/catch.hpp>

#include "bend/bend.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

TEST_CASE("backward adds into grad and zero_grad is explicit", "[autograd]") {
  Tensor x = Tensor::from({1, 2, 3}).requires_grad_();
  (x * x).sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 4, 6});
  (x * x).sum().backward();  // adds, as in PyTorch
  CHECK(x.grad().to_vector() == std::vector<float>{4, 8, 12});
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 0});
}

TEST_CASE("zero_grad defers its fill: backward then writes instead of adding", "[autograd]") {
  // linear and pointwise backward write into a gradient that holds zeros (sgemm beta = 0, `=`); the
  // result must equal a fresh gradient, and a second backward must still add.
  Rng rng(5);
  Tensor x = Tensor::uniform({4, 3}, -1, 1, rng).requires_grad_();
  Tensor w = Tensor::uniform({2, 3}, -1, 1, rng).requires_grad_();
  Tensor b = Tensor::uniform({2}, -1, 1, rng).requires_grad_();
  const auto loss = [&] { return sigmoid(linear(x, w, b)).sum(); };
  loss().backward();
  const auto gx = x.grad().to_vector(), gw = w.grad().to_vector(), gb = b.grad().to_vector();
  const float* memory = w.grad().data();
  for (Tensor t : {x, w, b}) t.zero_grad();
  loss().backward();  // writes into the stale buffers
  CHECK(w.grad().data() == memory);
  CHECK(x.grad().to_vector() == gx);
  CHECK(w.grad().to_vector() == gw);
  CHECK(b.grad().to_vector() == gb);
  loss().backward();  // adds
  for (std::size_t i = 0; i < gw.size(); ++i) CHECK(w.grad().to_vector()[i] == 2 * gw[i]);
  for (Tensor t : {x, w, b}) t.zero_grad();
  // A parameter whose grad was cleared and not recomputed is updated with a zero gradient (plain SGD:
  // unchanged), not with the stale values.
  const auto before = w.to_vector();
  optim::SGD({w}, 0.5).step();
  CHECK(w.to_vector() == before);
  CHECK(w.grad().to_vector() == std::vector<float>(6, 0.0f));
}

TEST_CASE("a tensor used twice gets the sum of both gradients", "[autograd]") {
  Tensor x = Tensor::from({3}).requires_grad_();
  Tensor y = x * x + x;  // dy/dx = 2x + 1
  y.sum().backward();
  CHECK(x.grad().item() == 7.0f);
}

TEST_CASE("graphs that branch and join", "[autograd]") {
  Tensor x = Tensor::from({0.5f, -1.0f}).requires_grad_();
  Tensor a = exp(x);
  Tensor b = a * 2.0f;
  Tensor c = a * a;        // branch from a
  Tensor d = (b + c) * x;  // join, and x used again
  d.sum().backward();
  for (int i = 0; i < 2; ++i) {
    const double xv = x.data()[i], ev = std::exp(xv);
    // d = (2e^x + e^{2x}) x  ->  d' = (2e^x + 2e^{2x}) x + 2e^x + e^{2x}
    const double expected = (2 * ev + 2 * ev * ev) * xv + 2 * ev + ev * ev;
    CHECK(x.grad().data()[i] == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("NoGradGuard records nothing", "[autograd]") {
  Tensor x = Tensor::from({1, 2}).requires_grad_();
  const std::size_t before = tape().size();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0f;
    CHECK_FALSE(y.requires_grad());
    CHECK(tape().size() == before);
  }
  CHECK(grad_enabled());
  Tensor z = x * 2.0f;
  CHECK(z.requires_grad());
  tape().clear();
}

TEST_CASE("clear errors for misuse", "[autograd][errors]") {
  Tensor x = Tensor::from({1, 2}).requires_grad_();
  SECTION("non-scalar without a gradient") {
    Tensor y = x * 2.0f;
    CHECK_THROWS_WITH(y.backward(), Catch::Contains("single value") && Catch::Contains("[2]"));
    tape().clear();
  }
  SECTION("backward twice") {
    Tensor loss = (x * 2.0f).sum();
    loss.backward();
    CHECK_THROWS_AS(loss.backward(), AutogradError);
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("already released"));
  }
  SECTION("using a tensor whose tape entry was released") {
    Tensor h = x * 2.0f;
    h.sum().backward();
    CHECK_THROWS_WITH(h * 3.0f, Catch::Contains("released") && Catch::Contains("detach"));
    Tensor ok = h.detach() * 3.0f;  // the value is fine to use
    CHECK(ok.data()[1] == 12.0f);
  }
  SECTION("leaf and no-grad tensors") {
    CHECK_THROWS_WITH(x.backward(), Catch::Contains("leaf"));
    CHECK_THROWS_WITH(Tensor::from({1}).backward(), Catch::Contains("does not require grad"));
  }
  SECTION("seed of the wrong shape") {
    Tensor y = x * 2.0f;
    CHECK_THROWS_AS(y.backward(Tensor::ones({3})), ShapeError);
    tape().clear();
  }
}

TEST_CASE("backward with an explicit seed", "[autograd]") {
  Tensor x = Tensor::from({1, 2}).requires_grad_();
  Tensor y = x * 3.0f;
  y.backward(Tensor::from({1, 10}));
  CHECK(x.grad().to_vector() == std::vector<float>{3, 30});
}

TEST_CASE("the tape is reused between steps", "[autograd]") {
  Tensor w = Tensor::from({0.5f}).requires_grad_();
  for (int step = 0; step < 3; ++step) {
    Tensor loss = (w * w * 3.0f).sum();
    CHECK(tape().size() > 0);
    loss.backward();
    CHECK(tape().size() == 0);
  }
  CHECK(w.grad().item() == Approx(9.0f));  // 3 steps of 6w
}

namespace {
// What a grad-ready hook saw: each leaf reported, in order, with its gradient at that moment.
struct ReadyLog {
  std::vector<const detail::TensorImpl*> leaves;
  std::vector<std::vector<float>> grads;
  static void record(void* context, const Tensor& leaf) {
    auto& log = *static_cast<ReadyLog*>(context);
    log.leaves.push_back(leaf.impl());
    log.grads.push_back(leaf.grad().defined() ? leaf.grad().to_vector() : std::vector<float>{});
  }
};
}  // namespace

TEST_CASE("the grad-ready hook reports each leaf once, when its gradient is final", "[autograd][grad-ready]") {
  Rng rng(11);
  Tensor x = Tensor::uniform({4, 3}, -1, 1, rng);  // data: not a leaf that requires grad
  Tensor w1 = Tensor::uniform({5, 3}, -1, 1, rng).requires_grad_();
  Tensor b1 = Tensor::uniform({5}, -1, 1, rng).requires_grad_();
  Tensor w2 = Tensor::uniform({2, 5}, -1, 1, rng).requires_grad_();
  Tensor scale = Tensor::uniform({2}, 0.5f, 1.5f, rng).requires_grad_();
  // w2 is used twice (once early, once late): it is final only after its earliest use is replayed.
  const auto forward = [&] {
    Tensor h = tanh(linear(x, w1, b1));
    Tensor y = linear(h, w2, Tensor());
    Tensor z = mul(y, scale) + linear(tanh(linear(x, w1, b1)), w2, Tensor());
    return (z * z).sum();
  };
  ReadyLog log;
  {
    GradReadyHookScope scope({&ReadyLog::record, &log});
    forward().backward();
  }
  // Replay runs backwards, so the last-used leaf (scale) comes first; w1 and b1 last.
  REQUIRE(log.leaves.size() == 4);
  CHECK(log.leaves[0] == scale.impl());
  CHECK(log.leaves[1] == w2.impl());
  CHECK(((log.leaves[2] == w1.impl() && log.leaves[3] == b1.impl()) ||
         (log.leaves[2] == b1.impl() && log.leaves[3] == w1.impl())));
  // The gradient a leaf had when reported is its final gradient, and it is not zero.
  for (std::size_t k = 0; k < log.leaves.size(); ++k) {
    Tensor leaf(std::const_pointer_cast<detail::TensorImpl>(
        log.leaves[k] == w1.impl() ? w1.impl_ptr() : log.leaves[k] == b1.impl() ? b1.impl_ptr()
                                                   : log.leaves[k] == w2.impl() ? w2.impl_ptr()
                                                                                : scale.impl_ptr()));
    CHECK(log.grads[k] == leaf.grad().to_vector());
    float norm = 0;
    for (float g : log.grads[k]) norm += g * g;
    CHECK(norm > 0);
  }
  // The scope removed the hook: the next backward reports nothing and still computes gradients.
  for (Tensor t : {w1, b1, w2, scale}) t.zero_grad();
  forward().backward();
  CHECK(log.leaves.size() == 4);
  CHECK(log.grads[1] == w2.grad().to_vector());
}

TEST_CASE("the grad-ready hook reports again on every backward, never an unused leaf", "[autograd][grad-ready]") {
  Rng rng(3);
  Tensor x = Tensor::uniform({8, 4}, -1, 1, rng);
  Tensor w = Tensor::uniform({3, 4}, -1, 1, rng).requires_grad_();
  Tensor unused = Tensor::uniform({3}, -1, 1, rng).requires_grad_();
  int calls = 0;
  GradReadyHook hook{[](void* c, const Tensor&) { ++*static_cast<int*>(c); }, &calls};
  GradReadyHookScope scope(hook);
  for (int step = 0; step < 3; ++step) {
    w.zero_grad();
    relu(linear(x, w, Tensor())).sum().backward();
  }
  CHECK(calls == 3);  // w once per backward; `unused` never took part, so it is never reported
  CHECK(!unused.grad().defined());
}

}  // namespace BEND_UNITY_ID
