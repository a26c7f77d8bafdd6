// End to end on the bare tape: fit a linear regression and a 2-layer net with hand-written SGD.
#include <catch2/catch.hpp>

#include "bend/bend.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

TEST_CASE("linear regression fits with hand-written SGD on the tape", "[e2e]") {
  Rng rng(21);
  // y = x·[2, -3]ᵀ + 0.5 + noise
  Tensor x = Tensor::uniform({128, 2}, -1, 1, rng);
  Tensor y = Tensor::empty({128, 1});
  for (int i = 0; i < 128; ++i)
    y.data()[i] = 2 * x.at({i, 0}) - 3 * x.at({i, 1}) + 0.5f + 0.01f * rng.normal();
  Tensor w = Tensor::zeros({1, 2}).requires_grad_();
  Tensor b = Tensor::zeros({1}).requires_grad_();
  float loss_value = 0;
  for (int step = 0; step < 300; ++step) {
    w.zero_grad();
    b.zero_grad();
    Tensor loss = mse_loss(linear(x, w, b), y);
    loss.backward();
    loss_value = loss.item();
    NoGradGuard g;
    for (Tensor p : {w, b})
      for (std::int64_t k = 0; k < p.numel(); ++k) p.data()[k] -= 0.1f * p.grad().data()[k];
  }
  CHECK(loss_value < 1e-3f);
  CHECK(w.at({0, 0}) == Approx(2.0f).margin(0.02));
  CHECK(w.at({0, 1}) == Approx(-3.0f).margin(0.02));
  CHECK(b.item() == Approx(0.5f).margin(0.02));
}

TEST_CASE("a 2-layer net learns a nonlinear function", "[e2e]") {
  Rng rng(22);
  // Targets: class = (x0 * x1 > 0), which no linear model separates.
  const int n = 256;
  Tensor x = Tensor::uniform({n, 2}, -1, 1, rng);
  std::vector<std::int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[static_cast<std::size_t>(i)] = x.at({i, 0}) * x.at({i, 1}) > 0 ? 1 : 0;
  Tensor w1 = Tensor::uniform({16, 2}, -1, 1, rng).requires_grad_();
  Tensor b1 = Tensor::zeros({16}).requires_grad_();
  Tensor w2 = Tensor::uniform({2, 16}, -0.5, 0.5, rng).requires_grad_();
  Tensor b2 = Tensor::zeros({2}).requires_grad_();
  float first = 0, last = 0;
  for (int step = 0; step < 1500; ++step) {
    for (Tensor p : {w1, b1, w2, b2}) p.zero_grad();
    Tensor h = linear(x, w1, b1);
    h = h * h;  // a simple nonlinearity from the core ops
    Tensor loss = cross_entropy(linear(h, w2, b2), labels);
    loss.backward();
    (step == 0 ? first : last) = loss.item();
    NoGradGuard g;
    for (Tensor p : {w1, b1, w2, b2})
      for (std::int64_t k = 0; k < p.numel(); ++k) p.data()[k] -= 0.05f * p.grad().data()[k];
  }
  CHECK(first > 0.6f);
  CHECK(last < 0.15f);
}

}  // namespace BEND_UNITY_ID
