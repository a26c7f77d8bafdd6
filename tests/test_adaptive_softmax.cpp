// AdaptiveLogSoftmaxWithLoss: PyTorch's parameter layout and validation, numbers checked against
// PyTorch, normalisation, forward/log_prob/predict consistency, gradients (gradcheck, and which tails
// receive them), the indexing ops it is built from, and a 3000-class training run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "bend/bend.hpp"
#include "bend/nn/adaptive_softmax.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::nn;
using bend::testing::require_gradcheck;

namespace {

std::vector<std::pair<std::string, Shape>> names_and_shapes(const Module& m) {
  std::vector<std::pair<std::string, Shape>> out;
  for (const auto& [name, t] : m.named_parameters()) out.emplace_back(name, t.shape());
  return out;
}

// log Σ exp over each row of a [N, C] tensor, in double.
std::vector<double> row_logsumexp(const Tensor& t) {
  std::vector<double> out;
  const std::int64_t n = t.size(0), c = t.size(1);
  for (std::int64_t r = 0; r < n; ++r) {
    const float* row = t.data() + r * c;
    const double max = *std::max_element(row, row + c);
    double total = 0;
    for (std::int64_t j = 0; j < c; ++j) total += std::exp(row[j] - max);
    out.push_back(max + std::log(total));
  }
  return out;
}

std::vector<std::int32_t> row_argmax(const Tensor& t) {
  std::vector<std::int32_t> out;
  const std::int64_t n = t.size(0), c = t.size(1);
  for (std::int64_t r = 0; r < n; ++r) {
    const float* row = t.data() + r * c;
    out.push_back(static_cast<std::int32_t>(std::max_element(row, row + c) - row));
  }
  return out;
}

// Parameter p (in named_parameters order), element k: 0.8·sin(1.3k + 0.7p + 0.1), as in the PyTorch
// script that produced the reference numbers below.
void fill_reference_weights(Module& m) {
  NoGradGuard no_grad;
  int p_index = 0;
  for (auto& [name, p] : m.named_parameters()) {
    for (std::int64_t k = 0; k < p.numel(); ++k)
      p.data()[k] = static_cast<float>(0.8 * std::sin(1.3 * static_cast<double>(k) + 0.7 * p_index + 0.1));
    ++p_index;
  }
}

}  // namespace

TEST_CASE("AdaptiveLogSoftmaxWithLoss has PyTorch's parameter names, shapes and repr", "[adaptive]") {
  Rng rng(3);
  // 16 // 4 = 4, 16 // 16 = 1, 16 // 64 = 0: PyTorch builds a zero-width third tail (and warns that
  // initialising zero-element tensors is a no-op); so does bend.
  AdaptiveLogSoftmaxWithLoss asm_(16, 1000, {10, 100, 500}, 4.0, false, rng);
  using NS = std::vector<std::pair<std::string, Shape>>;
  CHECK(names_and_shapes(asm_) == NS{{"head.weight", {13, 16}},
                                     {"tail.0.0.weight", {4, 16}},
                                     {"tail.0.1.weight", {90, 4}},
                                     {"tail.1.0.weight", {1, 16}},
                                     {"tail.1.1.weight", {400, 1}},
                                     {"tail.2.0.weight", {0, 16}},
                                     {"tail.2.1.weight", {500, 0}}});
  CHECK(asm_.cutoffs() == std::vector<std::int64_t>{10, 100, 500, 1000});
  CHECK(asm_.shortlist_size() == 10);
  CHECK(asm_.n_clusters() == 3);
  CHECK(asm_.head_size() == 13);
  CHECK_FALSE(asm_.head_bias());
  CHECK(asm_.num_parameters() == 13 * 16 + 4 * 16 + 90 * 4 + 16 + 400);
  // Linear's default init: |w| <= 1/√fan_in.
  for (float v : asm_.head().weight.span()) CHECK(std::abs(v) <= 0.25f);
  CHECK(asm_.describe() ==
        "AdaptiveLogSoftmaxWithLoss(\n"
        "  (head): Linear(in_features=16, out_features=13, bias=False)\n"
        "  (tail): ModuleList(\n"
        "    (0): Sequential(\n"
        "      (0): Linear(in_features=16, out_features=4, bias=False)\n"
        "      (1): Linear(in_features=4, out_features=90, bias=False)\n"
        "    )\n"
        "    (1): Sequential(\n"
        "      (0): Linear(in_features=16, out_features=1, bias=False)\n"
        "      (1): Linear(in_features=1, out_features=400, bias=False)\n"
        "    )\n"
        "    (2): Sequential(\n"
        "      (0): Linear(in_features=16, out_features=0, bias=False)\n"
        "      (1): Linear(in_features=0, out_features=500, bias=False)\n"
        "    )\n"
        "  )\n"
        ")");

  AdaptiveLogSoftmaxWithLoss with_bias(8, 20, {5}, 2.0, true, rng);
  CHECK(names_and_shapes(with_bias) == NS{{"head.weight", {6, 8}},
                                          {"head.bias", {6}},
                                          {"tail.0.0.weight", {4, 8}},
                                          {"tail.0.1.weight", {15, 4}}});
  // Fractional div_value: int(10 // 1.5**k) = 6, 4.
  AdaptiveLogSoftmaxWithLoss fractional(10, 30, {10, 20}, 1.5, false, rng);
  CHECK(fractional.tail(0)[0].named_parameters()[0].second.shape() == Shape{6, 10});
  CHECK(fractional.tail(1)[0].named_parameters()[0].second.shape() == Shape{4, 10});
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss validates cutoffs as PyTorch does", "[adaptive]") {
  using V = std::vector<std::int64_t>;
  for (const V& bad : {V{}, V{0, 5}, V{-1}, V{5, 3}, V{3, 3}, V{10}, V{3, 12}}) {
    INFO("cutoffs of size " << bad.size());
    CHECK_THROWS_AS(AdaptiveLogSoftmaxWithLoss(4, 10, bad), ValueError);
  }
  CHECK_THROWS_WITH(AdaptiveLogSoftmaxWithLoss(4, 10, {5, 3}),
                    Catch::Contains("unique, positive integers sorted") && Catch::Contains("[5, 3]"));
  CHECK_NOTHROW(AdaptiveLogSoftmaxWithLoss(4, 10, {1, 9}));
  CHECK_THROWS_AS(AdaptiveLogSoftmaxWithLoss(4, 10, {5}, 0.0), ValueError);
  CHECK_THROWS_AS(AdaptiveLogSoftmaxWithLoss(0, 10, {5}), ValueError);
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss matches PyTorch numbers", "[adaptive]") {
  // Reference: PyTorch 1.13, nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 6], div_value=2.0, head_bias=True)
  // with parameter p (in named_parameters order) element k set to 0.8·sin(1.3k + 0.7p + 0.1) and
  // x[r][j] = 1.5·cos(0.9r + 0.4j).
  AdaptiveLogSoftmaxWithLoss m(4, 10, {3, 6}, 2.0, true);
  fill_reference_weights(m);
  Tensor x = Tensor::empty({5, 4});
  for (std::int64_t r = 0; r < 5; ++r)
    for (std::int64_t j = 0; j < 4; ++j) x.at({r, j}) = static_cast<float>(1.5 * std::cos(0.9 * r + 0.4 * j));
  const std::vector<std::int32_t> target{0, 4, 9, 2, 7};

  const std::vector<double> expected_log_prob{
      -0.480234, -1.323073, -3.472781, -5.784583, -6.401503, -4.705287, -3.944335, -3.490255, -4.246614,
      -5.105342, -0.623481, -2.100290, -3.727469, -4.798658, -6.730277, -3.754038, -2.586020, -2.460080,
      -2.669859, -2.908031, -1.464089, -2.368945, -2.919498, -3.051664, -4.836169, -2.832266, -2.308616,
      -2.606122, -2.110566, -1.547938, -2.272951, -1.832773, -1.567370, -2.193261, -2.480176, -2.965121,
      -3.147179, -3.642986, -2.817122, -1.879479, -2.665796, -1.125400, -0.922211, -3.612972, -2.185165,
      -4.791963, -4.457149, -4.776040, -4.244864, -3.641797};
  const Tensor lp = m.log_prob(x);
  REQUIRE(lp.shape() == Shape{5, 10});
  bend::testing::check_close(lp, expected_log_prob, 1e-5, 2e-6);
  tape().clear();

  m.zero_grad();
  const ASMOutput out = m(x, target);
  bend::testing::check_close(out.output, {-0.4802338, -6.7302766, -1.5479381, -1.5673704, -4.7760396}, 1e-5,
                             1e-6);
  CHECK(out.loss.item() == Approx(3.0203717).epsilon(1e-6));
  out.loss.backward();
  const double head_grad_row0[] = {-0.07685145, -0.14770402, -0.19523740, -0.21194707};
  for (std::int64_t j = 0; j < 4; ++j)
    CHECK(m.head().weight.grad().at({0, j}) == Approx(head_grad_row0[j]).epsilon(1e-4));
  bend::testing::check_close(m.tail(1)[0].named_parameters()[0].second.grad(),
                             {-0.20359029, -0.06778978, 0.07871323, 0.21278916}, 1e-4, 1e-6);
  CHECK(m.predict(x) == std::vector<std::int32_t>{0, 0, 0, 2, 2});
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss: log_prob normalises, forward gathers it, loss is mean(-output)",
          "[adaptive]") {
  Rng rng(11);
  AdaptiveLogSoftmaxWithLoss m(16, 1000, {10, 100, 500}, 4.0, true, rng);
  const Tensor x = Tensor::normal({64, 16}, 0.0f, 2.0f, rng);
  const Tensor lp = m.log_prob(x);
  REQUIRE(lp.shape() == Shape{64, 1000});
  for (double lse : row_logsumexp(lp)) CHECK(std::abs(lse) < 1e-5);
  // The zero-width tail outputs zeros: its 500 classes share its head probability evenly.
  for (std::int64_t r = 0; r < 64; ++r) {
    const double first = lp.at({r, 500});
    CHECK(lp.at({r, 999}) == Approx(first).margin(1e-6));
    // 500 equal shares add up to the cluster's probability: what the first 500 classes leave over.
    double shortlist_and_other_clusters = 0;
    for (std::int64_t j = 0; j < 500; ++j)
      shortlist_and_other_clusters += std::exp(static_cast<double>(lp.at({r, j})));
    CHECK(first + std::log(500.0) == Approx(std::log(1.0 - shortlist_and_other_clusters)).margin(1e-4));
  }
  tape().clear();

  std::vector<std::int32_t> target;
  for (std::int32_t r = 0; r < 64; ++r) target.push_back(static_cast<std::int32_t>((r * 379 + 7) % 1000));
  const ASMOutput out = m(x, target);
  REQUIRE(out.output.shape() == Shape{64});
  double sum = 0;
  for (std::int64_t r = 0; r < 64; ++r) {
    CHECK(out.output.at({r}) == Approx(lp.at({r, target[static_cast<std::size_t>(r)]})).margin(1e-5));
    sum += out.output.at({r});
  }
  CHECK(out.loss.item() == Approx(-sum / 64).epsilon(1e-6));
  // Backward through the zero-width tail: it is constant, so its (empty) weights get no gradient.
  out.loss.backward();
  CHECK(m.tail(0)[0].named_parameters()[0].second.grad().defined());
  CHECK_FALSE(m.tail(2)[0].named_parameters()[0].second.grad().defined());
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss: gradients reach the head and only the used tails", "[adaptive]") {
  Rng rng(5);
  AdaptiveLogSoftmaxWithLoss m(8, 40, {4, 12, 25}, 2.0, true, rng);
  Tensor x = Tensor::normal({6, 8}, 0.0f, 1.0f, rng).requires_grad_();
  const std::vector<std::int32_t> target{1, 30, 3, 26, 0, 39};  // shortlist and cluster 2 only
  m(x, target).loss.backward();
  CHECK(x.grad().defined());
  CHECK(m.head().weight.grad().defined());
  CHECK(m.head().bias.grad().defined());
  for (auto& [name, p] : m.tail(0).named_parameters()) CHECK_FALSE(p.grad().defined());
  for (auto& [name, p] : m.tail(1).named_parameters()) CHECK_FALSE(p.grad().defined());
  for (auto& [name, p] : m.tail(2).named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    double norm = 0;
    for (float g : p.grad().span()) norm += g * g;
    CHECK(norm > 0);
  }
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss passes gradcheck through forward and log_prob", "[adaptive]") {
  Rng rng(7);
  AdaptiveLogSoftmaxWithLoss m(6, 12, {3, 7}, 2.0, true, rng);
  const Tensor x = bend::testing::random_tensor({5, 6}, rng, -1.5f, 1.5f);
  const std::vector<std::int32_t> target{0, 4, 11, 6, 8};  // every cluster used
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  require_gradcheck([&](const std::vector<Tensor>& in) { return m(in[0], target).loss; }, inputs);
  require_gradcheck([&](const std::vector<Tensor>& in) { return m(in[0], target).output; }, inputs);
  require_gradcheck([&](const std::vector<Tensor>& in) { return m.log_prob(in[0]); }, inputs);
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss::predict is the argmax of log_prob on every path", "[adaptive]") {
  Rng rng(21);
  AdaptiveLogSoftmaxWithLoss m(12, 300, {20, 100}, 2.0, true, rng);
  const Tensor x = Tensor::normal({200, 12}, 0.0f, 3.0f, rng);
  auto expected = [&] {
    NoGradGuard no_grad;
    return row_argmax(m.log_prob(x));
  };
  auto in_shortlist = [](const std::vector<std::int32_t>& p) {
    return std::count_if(p.begin(), p.end(), [](std::int32_t c) { return c < 20; });
  };
  // Mixed rows (the cluster logits raised until some rows but not all pick a cluster class), then all
  // cluster rows (raised far), then all shortlist rows (lowered far).
  float* bias = m.head().bias.data();
  std::vector<std::int32_t> p;
  bool mixed = false;
  for (float raise = 0.0f; raise < 20.0f && !mixed; raise += 0.5f) {
    for (int c = 20; c < 22; ++c) bias[c] = raise;
    p = m.predict(x);
    mixed = in_shortlist(p) > 0 && in_shortlist(p) < 200;
  }
  REQUIRE(mixed);
  CHECK(p == expected());
  for (int c = 20; c < 22; ++c) bias[c] = 50.0f;
  p = m.predict(x);
  CHECK(p == expected());
  CHECK(in_shortlist(p) == 0);
  for (int c = 20; c < 22; ++c) bias[c] = -50.0f;
  p = m.predict(x);
  CHECK(p == expected());
  CHECK(in_shortlist(p) == 200);
  CHECK(tape().size() == 0);  // predict records nothing
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss rejects bad targets and shapes", "[adaptive]") {
  AdaptiveLogSoftmaxWithLoss m(4, 10, {3, 6});
  const Tensor x = Tensor::zeros({3, 4});
  const std::vector<std::int32_t> too_big{0, 10, 2}, negative{0, 1, -1}, short_target{0, 1};
  CHECK_THROWS_WITH(m(x, too_big), Catch::Contains("target[1] = 10") && Catch::Contains("[0, 9]"));
  CHECK_THROWS_AS(m(x, too_big), ValueError);
  CHECK_THROWS_WITH(m(x, negative), Catch::Contains("target[2] = -1"));
  CHECK_THROWS_AS(m(x, short_target), ShapeError);
  CHECK_THROWS_AS(m(Tensor::zeros({3, 5}), std::vector<std::int32_t>{0, 1, 2}), ShapeError);
  CHECK_THROWS_AS(m.log_prob(Tensor::zeros({4})), ShapeError);
  CHECK_THROWS_AS(m.predict(Tensor::zeros({2, 3})), ShapeError);
  // The one-argument Module interface returns the full log-probabilities.
  CHECK(m(x).shape() == Shape{3, 10});
  tape().clear();
}

TEST_CASE("index_select_rows, gather_columns and index_add_rows: values, errors, gradcheck", "[adaptive]") {
  Rng rng(2);
  const Tensor a = bend::testing::random_tensor({4, 3}, rng);
  const std::vector<std::int64_t> rows{2, 0, 2};
  const Tensor picked = index_select_rows(a, rows);
  REQUIRE(picked.shape() == Shape{3, 3});
  CHECK(picked.at({0, 1}) == a.at({2, 1}));
  CHECK(picked.at({1, 2}) == a.at({0, 2}));
  const std::vector<std::int32_t> columns{2, 0, 1, 1};
  const Tensor gathered = gather_columns(a, columns);
  REQUIRE(gathered.shape() == Shape{4});
  CHECK(gathered.at({2}) == a.at({2, 1}));
  const Tensor source = bend::testing::random_tensor({3, 3}, rng);
  const Tensor added = index_add_rows(a, rows, source);
  CHECK(added.at({2, 0}) == Approx(a.at({2, 0}) + source.at({0, 0}) + source.at({2, 0})));
  CHECK(added.at({1, 1}) == a.at({1, 1}));
  tape().clear();

  CHECK_THROWS_AS(index_select_rows(a, std::vector<std::int64_t>{4}), ValueError);
  CHECK_THROWS_AS(gather_columns(a, std::vector<std::int32_t>{0, 3, 0, 0}), ValueError);
  CHECK_THROWS_AS(gather_columns(a, std::vector<std::int32_t>{0}), ShapeError);
  CHECK_THROWS_AS(index_add_rows(a, rows, Tensor::zeros({2, 3})), ShapeError);

  require_gradcheck([&](const std::vector<Tensor>& in) { return index_select_rows(in[0], rows); }, {a});
  require_gradcheck([&](const std::vector<Tensor>& in) { return gather_columns(in[0], columns); }, {a});
  require_gradcheck([&](const std::vector<Tensor>& in) { return index_add_rows(in[0], rows, in[1]); },
                    {a, source});
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss learns a 3000-class Zipf task", "[adaptive]") {
  constexpr std::int64_t kClasses = 3000, kDim = 32, kBatch = 192;
  Rng rng(42);
  // Each class has a random unit-ish embedding; a sample is its class's embedding plus noise.
  const Tensor embedding = Tensor::normal({kClasses, kDim}, 0.0f, 1.0f, rng);
  std::vector<double> cdf(kClasses);
  double total = 0;
  for (std::int64_t c = 0; c < kClasses; ++c) cdf[static_cast<std::size_t>(c)] = total += 1.0 / (c + 1.0);
  auto make_batch = [&](Tensor& x, std::vector<std::int32_t>& y) {
    x = Tensor::empty({kBatch, kDim});
    y.resize(kBatch);
    for (std::int64_t r = 0; r < kBatch; ++r) {
      const double u = rng.uniform() * total;
      const auto c =
          std::min<std::int64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), kClasses - 1);
      y[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(c);
      for (std::int64_t j = 0; j < kDim; ++j) x.at({r, j}) = embedding.at({c, j}) + 0.3f * rng.normal();
    }
  };

  AdaptiveLogSoftmaxWithLoss m(kDim, kClasses, {100, 600, 1500}, 2.0, true, rng);
  Tensor eval_x;
  std::vector<std::int32_t> eval_y;
  make_batch(eval_x, eval_y);
  auto eval_loss = [&] {
    NoGradGuard no_grad;
    return m(eval_x, eval_y).loss.item();
  };
  const float start = eval_loss();

  // Adam (lr 1e-2, β = 0.9, 0.999), written out here; tails without gradient this step are skipped.
  const std::vector<Tensor> params = m.parameters();
  std::vector<std::vector<float>> m1, m2;
  for (const Tensor& p : params) {
    m1.emplace_back(static_cast<std::size_t>(p.numel()), 0.0f);
    m2.emplace_back(static_cast<std::size_t>(p.numel()), 0.0f);
  }
  Tensor x;
  std::vector<std::int32_t> y;
  for (int step = 1; step <= 250; ++step) {
    make_batch(x, y);
    m.zero_grad();
    m(x, y).loss.backward();
    const float c1 = 1.0f - std::pow(0.9f, static_cast<float>(step)),
                c2 = 1.0f - std::pow(0.999f, static_cast<float>(step));
    for (std::size_t k = 0; k < params.size(); ++k) {
      Tensor p = params[k];
      if (!p.grad().defined()) continue;
      const float* g = p.grad().data();
      float* w = p.data();
      for (std::size_t i = 0; i < m1[k].size(); ++i) {
        m1[k][i] = 0.9f * m1[k][i] + 0.1f * g[i];
        m2[k][i] = 0.999f * m2[k][i] + 0.001f * g[i] * g[i];
        w[i] -= 1e-2f * (m1[k][i] / c1) / (std::sqrt(m2[k][i] / c2) + 1e-8f);
      }
    }
  }
  const float end = eval_loss();
  INFO("held-out loss " << start << " -> " << end);
  CHECK(start > 6.0f);  // about log(3000) ≈ 8 at initialisation
  CHECK(end < 0.4f * start);
  std::vector<std::int32_t> predicted = m.predict(eval_x);
  std::int64_t correct = 0;
  for (std::size_t r = 0; r < predicted.size(); ++r) correct += predicted[r] == eval_y[r];
  INFO("held-out accuracy " << correct << " / " << kBatch);
  CHECK(correct > kBatch / 2);
}

}  // namespace BEND_UNITY_ID
