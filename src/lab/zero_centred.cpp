// bend lab zero-centred: does centring the outputs speed training? sigmoid against sigmoid − 0.5 (the same
// curve, shifted: tanh(x/2)/2) and tanh, over seeds, with the sign agreement of weight-gradient rows
// (see bend/lab/claims.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <numeric>
#include <optional>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/init.hpp"
#include "bend/ops.hpp"
#include "bend/optim/sgd.hpp"
#include "bend/stats/paired_t_test.hpp"
#include "bend/stats/sample_size.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace zero_centred_detail {

// The paired test over seeds decides at this level (two-sided).
constexpr double kAlpha = 0.05;
constexpr double kLr = 0.1;  // plain SGD: no per-coordinate scaling to hide the zig-zag

struct Settings {
  std::int64_t hidden, batch, epochs, seeds, sign_examples;
  DataLimits data;
};
Settings settings_for(bool quick) {
  return quick ? Settings{64, 32, 1, 4, 16, {3000, 1000}} : Settings{128, 32, 3, 8, 64, {10000, 2000}};
}

enum class Kind { Sigmoid, Centred, Tanh };
constexpr Kind kKinds[] = {Kind::Sigmoid, Kind::Centred, Kind::Tanh};
const char* kind_name(Kind k) {
  return k == Kind::Sigmoid ? "sigmoid" : k == Kind::Centred ? "sigmoid − 0.5" : "tanh";
}

Tensor act(Kind k, const Tensor& z) {
  if (k == Kind::Sigmoid) return sigmoid(z);
  if (k == Kind::Centred) return sigmoid(z) - 0.5f;
  return tanh(z);
}

struct Net {
  Tensor w1, b1, w2, b2, w3, b3;
  Tensor forward(Kind k, const Tensor& x) const {
    return linear(act(k, linear(act(k, linear(x, w1, b1)), w2, b2)), w3, b3);
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2, w3, b3}; }
};

// The same draw for every kind (Xavier uniform, zero biases), so the three differ only in the activation.
Net make_net(std::int64_t in, std::int64_t hidden, std::int64_t out, std::uint64_t seed) {
  Rng rng(seed);
  Net n{Tensor::zeros({hidden, in}), Tensor::zeros({hidden}),      Tensor::zeros({hidden, hidden}),
        Tensor::zeros({hidden}),     Tensor::zeros({out, hidden}), Tensor::zeros({out})};
  for (Tensor* w : {&n.w1, &n.w2, &n.w3}) nn::init::xavier_uniform_(*w, rng);
  for (Tensor* p : {&n.w1, &n.b1, &n.w2, &n.b2, &n.w3, &n.b3}) p->requires_grad_();
  return n;
}

// Mean over the rows of the middle layer's weight gradient of |Σ sign(g)| / #non-zero: 1 when every entry of
// a row has the same sign (the zig-zag condition), about √(2/(π·width)) for independent signs.
double sign_agreement(const Tensor& g) {
  const std::int64_t rows = g.shape()[0], cols = g.shape()[1];
  double total = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0, nz = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      const float v = g.data()[r * cols + c];
      s += v > 0 ? 1 : v < 0 ? -1 : 0;
      nz += v != 0 ? 1 : 0;
    }
    total += nz > 0 ? std::fabs(s) / nz : 0.0;
  }
  return total / static_cast<double>(rows);
}

struct Run {
  std::vector<double> epoch_loss;  // mean training loss per epoch
  double test_loss = 0, sign_per_example = 0, sign_per_batch = 0;
};

Run train_one(Kind k, const Settings& s, const LabData& data, std::uint64_t seed) {
  Net net = make_net(data.train.features(), s.hidden, data.train.num_classes, seed);
  const Tensor& images = data.train.images;
  Run run;
  // Sign agreement at init: per example (averaged) and for one minibatch.
  for (std::int64_t i = 0; i <= s.sign_examples; ++i) {
    const bool batch = i == s.sign_examples;
    const std::int64_t len = batch ? s.batch : 1, start = batch ? 0 : i;
    for (Tensor& p : net.params()) p.zero_grad();
    Tensor loss = cross_entropy(
        net.forward(k, narrow(images, 0, start, len)),
        std::span(data.train.labels).subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(len)));
    loss.backward();
    const double a = sign_agreement(net.w2.grad());
    if (batch)
      run.sign_per_batch = a;
    else
      run.sign_per_example += a / static_cast<double>(s.sign_examples);
  }
  for (Tensor& p : net.params()) p.zero_grad();
  optim::SGD sgd(net.params(), kLr);
  Rng order(seed + 1);
  std::vector<std::int64_t> perm(static_cast<std::size_t>(data.train.size()));
  std::vector<std::int32_t> labels;
  for (std::int64_t e = 0; e < s.epochs; ++e) {
    std::iota(perm.begin(), perm.end(), 0);
    for (std::size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[order.below(i)]);
    double sum = 0;
    std::int64_t batches = 0;
    for (std::size_t start = 0; start + static_cast<std::size_t>(s.batch) <= perm.size();
         start += static_cast<std::size_t>(s.batch)) {
      const std::span<const std::int64_t> rows(perm.data() + start, static_cast<std::size_t>(s.batch));
      labels.clear();
      for (std::int64_t r : rows) labels.push_back(data.train.labels[static_cast<std::size_t>(r)]);
      sgd.zero_grad();
      Tensor loss = cross_entropy(net.forward(k, index_select_rows(images, rows)), labels);
      sum += loss.item<double>();
      ++batches;
      loss.backward();
      sgd.step();
    }
    run.epoch_loss.push_back(sum / static_cast<double>(batches));
  }
  NoGradGuard no_grad;
  run.test_loss = cross_entropy(net.forward(k, data.test.images), data.test.labels).item<double>();
  return run;
}

}  // namespace zero_centred_detail

ClaimOutcome zero_centred_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  using namespace zero_centred_detail;
  const Settings s = settings_for(all.quick);
  const LabData data = limit_data(*mnist, s.data);
  std::vector<std::vector<Run>> runs(3);  // [kind][seed]
  for (std::int64_t seed = 0; seed < s.seeds; ++seed)
    for (std::size_t k = 0; k < 3; ++k)
      runs[k].push_back(train_one(kKinds[k], s, data, all.seed + 100 * static_cast<std::uint64_t>(seed)));
  auto test_losses = [&](std::size_t k) {
    std::vector<double> v;
    for (const Run& r : runs[k]) v.push_back(r.test_loss);
    return v;
  };
  auto mean_of = [&](std::size_t k, double Run::*field) {
    double m = 0;
    for (const Run& r : runs[k]) m += r.*field;
    return m / static_cast<double>(runs[k].size());
  };
  // Sigmoid minus centred: > 0 when centring lowers the loss.
  const stats::PairedComparison centring = stats::paired_t_test(test_losses(0), test_losses(1));
  const stats::PairedComparison tanh_vs = stats::paired_t_test(test_losses(0), test_losses(2));
  ClaimOutcome o;
  for (std::size_t k = 0; k < 3; ++k) {
    const std::string key = k == 0 ? "sigmoid" : k == 1 ? "centred" : "tanh";
    o.set(key + "_test_loss", mean_of(k, &Run::test_loss));
    o.set(key + "_sign_per_example", mean_of(k, &Run::sign_per_example));
    o.set(key + "_sign_per_batch", mean_of(k, &Run::sign_per_batch));
  }
  o.set("centring_gain", centring.mean_difference);
  o.set("centring_p", centring.p_value);
  o.set("tanh_gain", tanh_vs.mean_difference);
  o.set("tanh_p", tanh_vs.p_value);
  const bool significant = centring.p_value < kAlpha;
  o.seeds = static_cast<int>(s.seeds);
  o.reproduced = significant && centring.mean_difference > 0;
  if (!significant) {
    const std::optional<int> need =
        centring.enough_pairs() ? stats::paired_sample_size(centring.mean_difference, centring.std_difference,
                                                            kAlpha, 0.8, 100000)
                                : std::nullopt;
    o.not_settled(static_cast<int>(s.seeds), need.value_or(0));
  }
  o.measured = fmt::format(
      "test loss after training, mean over {} seeds: sigmoid {:.4f}, sigmoid − 0.5 {:.4f}, tanh {:.4f}; "
      "centring lowers it by {:.4f} (paired t-test p = {:.3g}), tanh by {:.4f} (p = {:.3g}). Sign agreement "
      "of the middle layer's weight-gradient rows at init, per example: sigmoid {:.2f}, centred {:.2f}, "
      "tanh {:.2f}; per minibatch of {}: {:.2f}, {:.2f}, {:.2f}",
      s.seeds, mean_of(0, &Run::test_loss), mean_of(1, &Run::test_loss), mean_of(2, &Run::test_loss),
      centring.mean_difference, centring.p_value, tanh_vs.mean_difference, tanh_vs.p_value,
      mean_of(0, &Run::sign_per_example), mean_of(1, &Run::sign_per_example),
      mean_of(2, &Run::sign_per_example), s.batch, mean_of(0, &Run::sign_per_batch),
      mean_of(1, &Run::sign_per_batch), mean_of(2, &Run::sign_per_batch));
  o.threshold = fmt::format(
      "reproduced when sigmoid − 0.5 reaches a lower test loss than sigmoid with a paired t-test over the "
      "seeds at p < {:g} (same init, same data order per seed); the opposite, significant: not reproduced; "
      "otherwise not settled",
      kAlpha);
  o.notes.push_back(fmt::format(
      "MLP {}-{}-{}-10 with the activation after both hidden layers, Xavier-uniform weights (the same draw "
      "for the three), plain SGD lr {:g}, batch {}, {} epoch(s) on {} MNIST images; test loss on {} images. "
      "sigmoid(x) − 0.5 = tanh(x/2)/2 is sigmoid shifted to be zero-centred: the two nets compute the same "
      "family of functions (the shift folds into the next bias), so any difference is the centring's effect "
      "on the updates. tanh(x) is that centred curve scaled (×2 in x, ×2 in y: 4× the slope). With a "
      "positive input h, the weight gradient δ·h of a unit's row has one sign across the row for each "
      "example: sign agreement 1, the zig-zag of the docs.",
      data.train.features(), s.hidden, s.hidden, kLr, s.batch, s.epochs, data.train.size(),
      data.test.size()));
  o.header = {"activation", "test loss (mean)", "sign agreement per example", "per minibatch",
              "training loss per epoch (mean)"};
  plot::LineChart c = chart("Training loss: sigmoid, sigmoid − 0.5 and tanh (mean over seeds)", "epoch",
                            "mean training cross-entropy (nats)");
  for (std::size_t k = 0; k < 3; ++k) {
    std::vector<double> curve(static_cast<std::size_t>(s.epochs), 0.0);
    for (const Run& r : runs[k])
      for (std::size_t e = 0; e < curve.size(); ++e)
        curve[e] += r.epoch_loss[e] / static_cast<double>(s.seeds);
    std::vector<std::string> per_epoch;
    for (double v : curve) per_epoch.push_back(fmt::format("{:.4f}", v));
    o.rows.push_back({kind_name(kKinds[k]), fmt::format("{:.4f}", mean_of(k, &Run::test_loss)),
                      fmt::format("{:.3f}", mean_of(k, &Run::sign_per_example)),
                      fmt::format("{:.3f}", mean_of(k, &Run::sign_per_batch)),
                      fmt::format("{}", fmt::join(per_epoch, " / "))});
    c.series.push_back(series(kind_name(kKinds[k]), one_to(curve.size()), curve, k));
  }
  // Per-seed test losses: the pairs the verdict reads.
  plot::LineChart pairs =
      chart("Test loss per seed (the paired comparison)", "seed", "test cross-entropy (nats)");
  for (std::size_t k = 0; k < 3; ++k) {
    std::vector<double> seeds;
    for (std::int64_t i = 0; i < s.seeds; ++i) seeds.push_back(static_cast<double>(i));
    pairs.series.push_back(series(kind_name(kKinds[k]), seeds, test_losses(k), k));
  }
  o.charts.push_back(svg_chart("loss.svg", "mean training loss per epoch", c));
  o.charts.push_back(svg_chart("seeds.svg", "test loss of every seed", pairs));
  return o;
}

}  // namespace bend::lab
