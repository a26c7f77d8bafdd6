// bend lab relu-sparsity: "about half the units silent per input", at init and after training on MNIST
// (see bend/lab/claims.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/train/diagnostics.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace relu_sparsity_detail {

// "About half": the share of a hidden layer's units that output exactly 0, averaged over inputs, within
// kHalfTolerance of one half in every hidden layer.
constexpr double kHalf = 0.5, kHalfTolerance = 0.1;

struct Settings {
  std::vector<std::int64_t> sizes;
  DataLimits data;
  std::int64_t epochs, probe;
};
Settings settings_for(bool quick) {
  if (quick) return {{784, 256, 128, 10}, {3000, 1000}, 2, 500};
  return {{784, 256, 128, 10}, {20000, 0}, 5, 2000};
}

struct Census {
  std::vector<double> silent;     // per hidden layer: mean over inputs of the share of units at exactly 0
  std::vector<double> dead;       // per hidden layer: share of units at 0 on every probe input
  std::vector<double> per_input;  // the first hidden layer's share, per probe input
};

Census census(nn::Sequential& net, const Tensor& images) {
  NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  Census c;
  Tensor x = images;
  for (std::size_t i = 0; i + 1 < net.size(); ++i) {
    x = net[i].forward(x);
    // The output of the activation right after a Linear: [N, units].
    if (i == 0 || net.get_if<nn::Linear>(i) || !net.get_if<nn::Linear>(i - 1)) continue;
    const std::int64_t n = x.shape()[0], u = x.shape()[1];
    const float* p = x.data();
    std::vector<char> alive(static_cast<std::size_t>(u), 0);
    double zeros = 0;
    for (std::int64_t r = 0; r < n; ++r) {
      std::int64_t row_zeros = 0;
      for (std::int64_t k = 0; k < u; ++k) {
        const bool zero = p[r * u + k] == 0.0f;
        row_zeros += zero ? 1 : 0;
        alive[static_cast<std::size_t>(k)] |= zero ? 0 : 1;
      }
      zeros += static_cast<double>(row_zeros);
      if (c.silent.empty()) c.per_input.push_back(static_cast<double>(row_zeros) / static_cast<double>(u));
    }
    c.silent.push_back(zeros / static_cast<double>(n * u));
    c.dead.push_back(static_cast<double>(std::count(alive.begin(), alive.end(), 0)) / static_cast<double>(u));
  }
  net.train(was_training);
  return c;
}

bool about_half(const Census& c) {
  for (double f : c.silent)
    if (std::fabs(f - kHalf) > kHalfTolerance) return false;
  return true;
}

std::string layers(const std::vector<double>& v) {
  std::vector<std::string> out;
  for (double f : v) out.push_back(detail::pct(f));
  return fmt::format("{}", fmt::join(out, " / "));
}

}  // namespace relu_sparsity_detail

ClaimOutcome relu_sparsity_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  using namespace relu_sparsity_detail;
  const Settings s = settings_for(all.quick);
  const LabData data = limit_data(*mnist, s.data);
  const TensorDataset probe = train::probe_batch(data.test, s.probe);
  Rng rng(all.seed);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(s.sizes, "relu"), nn::init::Scheme::Auto, rng);
  TrainSettings t;
  t.epochs = s.epochs;
  t.seed = all.seed;
  const Census before = census(net, probe.images);
  std::vector<Census> per_epoch = {before};
  const TrainOutcome fitted = fit(net, data.train, data.test, t, [&](const train::EpochMetrics&) {
    per_epoch.push_back(census(net, probe.images));
  });
  const Census& after = per_epoch.back();

  ClaimOutcome o;
  for (std::size_t l = 0; l < before.silent.size(); ++l) {
    o.set(fmt::format("silent_init_layer{}", l + 1), before.silent[l]);
    o.set(fmt::format("silent_trained_layer{}", l + 1), after.silent[l]);
    o.set(fmt::format("dead_trained_layer{}", l + 1), after.dead[l]);
  }
  o.set("accuracy", fitted.final_test_accuracy());
  o.reproduced = about_half(before) && about_half(after) && !fitted.diverged;
  o.measured = fmt::format(
      "units at exactly 0 per input, hidden layers {}: {} at init (He), {} after {} epochs ({} test "
      "accuracy); units silent on every probe input after training: {}",
      fmt::join(std::vector<std::int64_t>(s.sizes.begin() + 1, s.sizes.end() - 1), "-"),
      layers(before.silent), layers(after.silent), s.epochs, pct(fitted.final_test_accuracy()),
      layers(after.dead));
  o.threshold = fmt::format(
      "\"about half\": every hidden layer's mean share of zero outputs within {:g} points of {:g}%, both at "
      "init and after training",
      100 * kHalfTolerance, 100 * kHalf);
  o.notes.push_back(fmt::format(
      "MLP {} with ReLU, He init (`--init auto`), Adam lr {:g}, batch {}, {} MNIST training images, {} "
      "epoch(s). The census is over the first {} test images: a unit is silent for an input when its ReLU "
      "outputs exactly 0.",
      fmt::join(s.sizes, "-"), t.lr, t.batch, data.train.size(), s.epochs, probe.size()));
  o.header = {"epoch", "silent per input (each hidden layer)", "silent on every input (dead)"};
  for (std::size_t e = 0; e < per_epoch.size(); ++e)
    o.rows.push_back(
        {e == 0 ? "0 (init)" : std::to_string(e), layers(per_epoch[e].silent), layers(per_epoch[e].dead)});
  plot::LineChart c = chart("ReLU sparsity: share of units at exactly 0 per input", "epoch (0 = init)",
                            "hidden units at 0, mean over inputs (%)");
  c.y_min = 0;
  c.y_max = 100;
  c.reference_y = {100 * (kHalf - kHalfTolerance), 100 * kHalf, 100 * (kHalf + kHalfTolerance)};
  for (std::size_t l = 0; l < before.silent.size(); ++l) {
    std::vector<double> x, y;
    for (std::size_t e = 0; e < per_epoch.size(); ++e) {
      x.push_back(static_cast<double>(e));
      y.push_back(100 * per_epoch[e].silent[l]);
    }
    c.series.push_back(series(fmt::format("hidden layer {}", l + 1), x, y, l));
  }
  o.charts.push_back(svg_chart("sparsity.svg",
                               fmt::format("share of silent units per epoch; dashed lines at {:g}% ± {:g}",
                                           100 * kHalf, 100 * kHalfTolerance),
                               c));
  return o;
}

}  // namespace bend::lab
