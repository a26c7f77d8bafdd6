// Every core op: forward values against references computed here in double, and gradcheck through the
// op (with broadcasting and random shapes), asserting the gradients are not all zero.
#include <catch2/catch.hpp>

#include "bend/bend.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using bend::testing::check_close;
using bend::testing::random_tensor;
using bend::testing::require_gradcheck;

namespace {
double at(const Tensor& t, std::int64_t i) { return static_cast<double>(t.data()[i]); }
}  // namespace

TEST_CASE("matmul with every transpose combination", "[ops][matmul]") {
  Rng rng(1);
  const std::int64_t m = 3, k = 5, n = 4;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, rng);
      Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, rng);
      Tensor c = matmul(a, b, ta, tb);
      REQUIRE(c.shape() == Shape{m, n});
      check_close(c, [&](std::int64_t idx) {
        const std::int64_t i = idx / n, j = idx % n;
        double s = 0;
        for (std::int64_t p = 0; p < k; ++p)
          s += at(a, ta ? p * m + i : i * k + p) * at(b, tb ? j * k + p : p * n + j);
        return s;
      });
      tape().clear();
      require_gradcheck([&](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }, {a, b});
    }
}

TEST_CASE("linear = x·Wᵀ + b", "[ops][linear]") {
  Rng rng(2);
  Tensor x = random_tensor({4, 6}, rng), w = random_tensor({3, 6}, rng), b = random_tensor({3}, rng);
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{4, 3});
  check_close(y, [&](std::int64_t idx) {
    const std::int64_t r = idx / 3, o = idx % 3;
    double s = at(b, o);
    for (int i = 0; i < 6; ++i) s += at(x, r * 6 + i) * at(w, o * 6 + i);
    return s;
  });
  tape().clear();
  require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
  require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w});
  CHECK_THROWS_WITH(linear(x, Tensor::zeros({3, 5})), Catch::Contains("linear") && Catch::Contains("[4, 6]"));
  CHECK_THROWS_WITH(linear(x, w, Tensor::zeros({4})), Catch::Contains("bias"));
}

TEST_CASE("linear skips the input gradient when the input needs none", "[ops][linear]") {
  Rng rng(3);
  Tensor x = random_tensor({4, 6}, rng, -1, 1, /*grad=*/false);
  Tensor w = random_tensor({3, 6}, rng);
  linear(x, w).sum().backward();
  CHECK_FALSE(x.grad().defined());
  CHECK(w.grad().defined());
}

TEST_CASE("binary arithmetic with broadcasting", "[ops][arithmetic]") {
  Rng rng(4);
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}},       {{3, 4}, {3, 1}}, {{4}, {3, 4}},
      {{2, 3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{3, 4}, {}},     {{1}, {2, 3}},
  };
  for (const auto& c : cases) {
    INFO("shapes " << c.a.str() << " and " << c.b.str());
    Tensor a = random_tensor(c.a, rng), b = random_tensor(c.b, rng, 0.5f, 2.0f);  // b away from 0 for div
    const Shape out = broadcast_shapes(c.a, c.b, "test");
    // Reference: index each operand through broadcasting by hand.
    auto operand_index = [&](const Shape& s, std::int64_t flat) {
      std::int64_t idx = 0, stride = 1;
      for (int d = out.ndim() - 1, j = s.ndim() - 1; d >= 0; --d, --j) {
        const std::int64_t coord = flat % out[d];
        flat /= out[d];
        if (j >= 0) {
          if (s[j] != 1) idx += coord * stride;
          stride *= s[j];
        }
      }
      return idx;
    };
    auto ref = [&](auto op) {
      return
          [&, op](std::int64_t i) { return op(at(a, operand_index(c.a, i)), at(b, operand_index(c.b, i))); };
    };
    {
      NoGradGuard g;
      check_close(a + b, ref([](double x, double y) { return x + y; }));
      check_close(a - b, ref([](double x, double y) { return x - y; }));
      check_close(a * b, ref([](double x, double y) { return x * y; }));
      check_close(a / b, ref([](double x, double y) { return x / y; }));
      REQUIRE((a + b).shape() == out);
    }
    require_gradcheck([](const std::vector<Tensor>& in) { return in[0] + in[1]; }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& in) { return in[0] - in[1]; }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& in) { return in[0] / in[1]; }, {a, b});
  }
}

TEST_CASE("scalar arithmetic and elementwise math", "[ops][math]") {
  Rng rng(5);
  Tensor x = random_tensor({3, 5}, rng, 0.2f, 3.0f);
  Tensor s = random_tensor({3, 5}, rng, -3.0f, 3.0f);
  struct Unary {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
    bool positive_only;
  };
  const std::vector<Unary> unary = {
      {"add", [](const Tensor& t) { return t + 1.5f; }, [](double v) { return v + 1.5; }, false},
      {"sub", [](const Tensor& t) { return t - 1.5f; }, [](double v) { return v - 1.5; }, false},
      {"rsub", [](const Tensor& t) { return 1.5f - t; }, [](double v) { return 1.5 - v; }, false},
      {"mul", [](const Tensor& t) { return t * -2.0f; }, [](double v) { return v * -2.0; }, false},
      {"div", [](const Tensor& t) { return t / 4.0f; }, [](double v) { return v / 4.0; }, false},
      {"rdiv", [](const Tensor& t) { return 2.0f / t; }, [](double v) { return 2.0 / v; }, true},
      {"neg", [](const Tensor& t) { return -t; }, [](double v) { return -v; }, false},
      {"exp", [](const Tensor& t) { return exp(t); }, [](double v) { return std::exp(v); }, false},
      {"log", [](const Tensor& t) { return log(t); }, [](double v) { return std::log(v); }, true},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }, [](double v) { return std::sqrt(v); }, true},
      {"pow 2", [](const Tensor& t) { return pow(t, 2.0f); }, [](double v) { return v * v; }, false},
      {"pow 3", [](const Tensor& t) { return pow(t, 3.0f); }, [](double v) { return v * v * v; }, false},
      {"pow 0.5", [](const Tensor& t) { return pow(t, 0.5f); }, [](double v) { return std::sqrt(v); }, true},
      {"clamp", [](const Tensor& t) { return clamp(t, -1.0f, 1.5f); },
       [](double v) { return std::min(1.5, std::max(-1.0, v)); }, false},
  };
  // gradcheck probes ±eps around each value; keep values off clamp's kinks at -1 and 1.5.
  for (float& v : s.span())
    for (float kink : {-1.0f, 1.5f})
      if (std::abs(v - kink) < 0.1f) v = kink + (v < kink ? -0.1f : 0.1f);
  for (const auto& u : unary) {
    INFO(u.name);
    Tensor in = u.positive_only ? x : s;
    {
      NoGradGuard g;
      check_close(
          u.op(in), [&](std::int64_t i) { return u.ref(at(in, i)); }, 3e-6, 1e-6);
    }
    require_gradcheck([&](const std::vector<Tensor>& v) { return u.op(v[0]); }, {in});
  }
  // clamp passes the gradient inside the range only.
  Tensor c = Tensor::from({-2.0f, 0.0f, 2.0f}).requires_grad_();
  clamp(c, -1.0f, 1.0f).sum().backward();
  CHECK(c.grad().to_vector() == std::vector<float>{0, 1, 0});
}

TEST_CASE("sum and mean, over everything and along a dimension", "[ops][reduce]") {
  Rng rng(6);
  Tensor x = random_tensor({2, 3, 4}, rng);
  double total = 0;
  for (std::int64_t i = 0; i < 24; ++i) total += at(x, i);
  {
    NoGradGuard g;
    CHECK(sum(x).item() == Approx(total).epsilon(1e-6));
    CHECK(mean(x).item() == Approx(total / 24).epsilon(1e-6));
    for (int dim = 0; dim < 3; ++dim)
      for (bool keep : {false, true}) {
        Tensor s = sum(x, dim, keep), m = mean(x, dim, keep);
        REQUIRE(s.ndim() == (keep ? 3 : 2));
        REQUIRE(s.numel() == 24 / x.shape()[dim]);
        const std::int64_t dims[3] = {2, 3, 4};
        check_close(s, [&](std::int64_t o) {
          // Rebuild the coordinates of output o with dimension `dim` removed.
          std::int64_t coord[3], rem = o;
          for (int d = 2; d >= 0; --d) {
            if (d == dim) continue;
            coord[d] = rem % dims[d];
            rem /= dims[d];
          }
          double acc = 0;
          for (std::int64_t j = 0; j < dims[dim]; ++j) {
            coord[dim] = j;
            acc += at(x, (coord[0] * 3 + coord[1]) * 4 + coord[2]);
          }
          return acc;
        });
        check_close(m, [&](std::int64_t o) { return at(s, o) / dims[dim]; });
      }
  }
  require_gradcheck([](const std::vector<Tensor>& v) { return sum(v[0]); }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return mean(v[0]); }, {x});
  for (int dim : {0, 1, 2, -1}) {
    require_gradcheck([dim](const std::vector<Tensor>& v) { return sum(v[0], dim); }, {x});
    require_gradcheck([dim](const std::vector<Tensor>& v) { return mean(v[0], dim, true); }, {x});
  }
}

TEST_CASE("reshape, transpose, clone, concat, split", "[ops][shape]") {
  Rng rng(7);
  Tensor x = random_tensor({2, 6}, rng);
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        return v[0].reshape({3, 4}) * v[0].reshape({3, 4});
      },
      {x});
  {
    NoGradGuard g;
    Tensor t = transpose(x);
    REQUIRE(t.shape() == Shape{6, 2});
    check_close(t, [&](std::int64_t i) { return at(x, (i % 2) * 6 + i / 2); });
  }
  require_gradcheck([](const std::vector<Tensor>& v) { return transpose(v[0]); }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return clone(v[0]) * v[0]; }, {x});

  Tensor a = random_tensor({2, 3}, rng), b = random_tensor({2, 2}, rng), c = random_tensor({2, 1}, rng);
  {
    NoGradGuard g;
    Tensor cat = concat({a, b, c});
    REQUIRE(cat.shape() == Shape{2, 6});
    CHECK(cat.at({1, 0}) == a.at({1, 0}));
    CHECK(cat.at({1, 4}) == b.at({1, 1}));
    CHECK(cat.at({0, 5}) == c.at({0, 0}));
    auto parts = split(cat, {3, 2, 1});
    REQUIRE(parts.size() == 3);
    CHECK(parts[0].to_vector() == a.to_vector());
    CHECK(parts[1].to_vector() == b.to_vector());
    CHECK(parts[2].to_vector() == c.to_vector());
    Tensor rows = concat({a, a}, 0);
    CHECK(rows.shape() == Shape{4, 3});
    auto halves = chunk(x, 2);
    CHECK(halves[1].at({1, 0}) == x.at({1, 3}));
  }
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        return concat({v[0], v[1] * v[1], v[2]});
      },
      {a, b, c});
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        auto p = split(v[0], {2, 4});
        return p[0].sum() * mean(p[1], -1).sum() + p[1].sum();
      },
      {x});
  CHECK_THROWS_WITH(concat({a, Tensor::zeros({3, 3})}), Catch::Contains("concat"));
  CHECK_THROWS_WITH(split(x, {2, 2}), Catch::Contains("split"));
}

TEST_CASE("narrow takes a slice of one dimension, and its gradient goes back into it", "[ops][shape]") {
  Rng rng(17);
  Tensor x = random_tensor({2, 5, 3}, rng);
  {
    NoGradGuard g;
    Tensor y = narrow(x, 1, 1, 3);
    REQUIRE(y.shape() == Shape{2, 3, 3});
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 3; ++j)
        for (std::int64_t k = 0; k < 3; ++k) CHECK(y.at({i, j, k}) == x.at({i, j + 1, k}));
    CHECK(narrow(x, -1, 2, 0).shape() == Shape{2, 5, 0});
  }
  require_gradcheck(
      [](const std::vector<Tensor>& v) { return narrow(v[0], 1, 1, 3) * narrow(v[0], 1, 2, 3); }, {x});
  CHECK_THROWS_WITH(narrow(x, 1, 3, 3),
                    Catch::Contains("narrow: [3, 6) is outside dimension 1 of [2, 5, 3]"));
  CHECK_THROWS_AS(narrow(x, 1, -1, 2), ShapeError);
}

TEST_CASE("softmax and log_softmax, stable for large logits", "[ops][softmax]") {
  Rng rng(8);
  Tensor x = random_tensor({3, 5}, rng, -3, 3);
  {
    NoGradGuard g;
    Tensor p = softmax(x), lp = log_softmax(x);
    check_close(p, [&](std::int64_t i) {
      const std::int64_t r = i / 5;
      double z = 0;
      for (int j = 0; j < 5; ++j) z += std::exp(at(x, r * 5 + j));
      return std::exp(at(x, i)) / z;
    });
    check_close(
        lp, [&](std::int64_t i) { return std::log(at(p, i)); }, 1e-5, 1e-6);
    Tensor col = softmax(x, 0);
    double s = 0;
    for (int r = 0; r < 3; ++r) s += col.at({r, 2});
    CHECK(s == Approx(1.0).epsilon(1e-6));
    Tensor big = Tensor::from({1000.0f, 0.0f, -1000.0f});
    Tensor lb = log_softmax(big);
    CHECK(lb.data()[0] == Approx(0.0f).margin(1e-6));
    CHECK(lb.data()[1] == Approx(-1000.0f));
    CHECK(std::isfinite(lb.data()[2]));
  }
  require_gradcheck([](const std::vector<Tensor>& v) { return softmax(v[0]); }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0]); }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return softmax(v[0], 0); }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0], 0); }, {x});
}

TEST_CASE("losses match PyTorch's definitions", "[ops][losses]") {
  Rng rng(9);
  Tensor logits = random_tensor({4, 5}, rng, -3, 3);
  const std::vector<std::int32_t> targets = {0, 4, 2, 2};
  auto lse = [&](int r) {
    double z = 0;
    for (int j = 0; j < 5; ++j) z += std::exp(at(logits, r * 5 + j));
    return std::log(z);
  };
  for (float eps : {0.0f, 0.1f}) {
    double expected = 0;
    for (int r = 0; r < 4; ++r) {
      double smooth = 0;
      for (int j = 0; j < 5; ++j) smooth += lse(r) - at(logits, r * 5 + j);
      expected +=
          (1 - eps) * (lse(r) - at(logits, r * 5 + targets[static_cast<std::size_t>(r)])) + eps * smooth / 5;
    }
    NoGradGuard g;
    CHECK(cross_entropy(logits, targets, Reduction::Mean, eps).item() == Approx(expected / 4).epsilon(1e-6));
    CHECK(cross_entropy(logits, targets, Reduction::Sum, eps).item() == Approx(expected).epsilon(1e-6));
    CHECK(cross_entropy(logits, targets, Reduction::None, eps).shape() == Shape{4});
  }
  {
    NoGradGuard g;
    // nll of log_softmax equals cross_entropy.
    CHECK(nll_loss(log_softmax(logits), targets).item() ==
          Approx(cross_entropy(logits, targets).item()).epsilon(1e-6));
  }
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    require_gradcheck([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], targets, r); },
                      {logits});
    require_gradcheck([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], targets, r, 0.2f); },
                      {logits});
    require_gradcheck([&](const std::vector<Tensor>& v) { return nll_loss(v[0], targets, r); }, {logits});
  }

  Tensor a = random_tensor({3, 4}, rng), b = random_tensor({3, 4}, rng);
  Tensor y01 = Tensor::uniform({3, 4}, 0, 1, rng);
  {
    NoGradGuard g;
    double mse = 0, bce = 0;
    for (int i = 0; i < 12; ++i) {
      mse += (at(a, i) - at(b, i)) * (at(a, i) - at(b, i));
      const double p = 1 / (1 + std::exp(-at(a, i)));
      bce += -(at(y01, i) * std::log(p) + (1 - at(y01, i)) * std::log(1 - p));
    }
    CHECK(mse_loss(a, b).item() == Approx(mse / 12).epsilon(1e-6));
    CHECK(mse_loss(a, b, Reduction::Sum).item() == Approx(mse).epsilon(1e-6));
    CHECK(binary_cross_entropy_with_logits(a, y01).item() == Approx(bce / 12).epsilon(1e-5));
    // Stable for huge logits: no inf or NaN.
    Tensor huge = Tensor::from({100.0f, -100.0f});
    Tensor t = Tensor::from({0.0f, 1.0f});
    CHECK(binary_cross_entropy_with_logits(huge, t, Reduction::Sum).item() == Approx(200.0f));
    CHECK(cross_entropy(Tensor::from({1000.0f, -1000.0f}, {1, 2}), std::vector<std::int32_t>{1}).item() ==
          Approx(2000.0f));
  }
  require_gradcheck([](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1]); }, {a, b});
  require_gradcheck([&](const std::vector<Tensor>& v) { return binary_cross_entropy_with_logits(v[0], y01); },
                    {a});
  CHECK_THROWS_WITH(cross_entropy(logits, std::vector<std::int32_t>{0, 1, 7, 0}),
                    Catch::Contains("target 7") && Catch::Contains("index 2"));
  CHECK_THROWS_WITH(cross_entropy(logits, std::vector<std::int32_t>{0}), Catch::Contains("4 rows"));
}

}  // namespace BEND_UNITY_ID
