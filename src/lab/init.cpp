// bend lab init: He init against smaller, mismatched inits in deep ReLU-family nets
// (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <cmath>

#include "bend/lab/claims.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/train/diagnostics.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

namespace {

// The verdict: He keeps the last hidden layer's activation std within kSignalKept of the first's and the
// gradient's per-layer factor within [kGradientKept, 1 / kGradientKept]; a mismatched init lets the
// forward signal shrink below kSignalShrunk or the gradient by a per-layer factor below kGradientKept
// (PyTorch's default init has non-zero biases, which hold the activations' std up while the
// input-dependent part, and with it the gradient, shrinks); He's accuracy after the short run is at
// least kInitAccuracyPoints above each mismatched init's.
constexpr double kSignalKept = 4.0;
constexpr double kGradientKept = 0.7;
constexpr double kSignalShrunk = 0.05;
constexpr double kInitAccuracyPoints = 5.0;

}  // namespace

ClaimOutcome init_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const InitSettings& s = all.init;
  const DeepSetup setup = deep_setup(s, all.seed, *mnist);
  const LabData& data = setup.data;
  const TensorDataset& probe = setup.probe;
  const TrainSettings& train = setup.train;
  const std::vector<std::int64_t>& sizes = setup.sizes;

  ClaimOutcome o;
  o.header = {"activation",           "init",         "act std, layer 1",
              "act std, last hidden", "last / first", "gradient factor per layer",
              "test accuracy"};
  bool matched_ok = true;
  std::string text;
  std::vector<plot::LineChart> signal_panels, grad_panels;
  for (const std::string& act : s.acts) {
    plot::LineChart sig = chart(fmt::format("{}: activation std per layer at init", act),
                                "hidden layer (1 = input side)", "std of the activations (log scale)");
    sig.y_scale = plot::Scale::Log10;
    plot::LineChart grad = chart(fmt::format("{}: weight-gradient norm per layer at init", act),
                                 "Linear layer (1 = input side)", "weight-gradient norm (log scale)");
    grad.y_scale = plot::Scale::Log10;
    double he_accuracy = 0;
    std::string line = act + ":";
    for (std::size_t k = 0; k < s.schemes.size(); ++k) {
      const nn::init::Scheme scheme = nn::init::parse_scheme(s.schemes[k]);
      const std::string name(nn::init::scheme_name(scheme));
      Rng rng(all.seed);
      nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, act), scheme, rng);
      const train::Diagnostics d = train::diagnose(net, probe.images, probe.labels);
      std::vector<double> stds, norms;
      for (const auto* h : d.hidden()) stds.push_back(h->act_std);
      for (const auto& l : d.layers) norms.push_back(l.weight_grad_norm);
      const double ratio = stds.back() / stds.front();
      const double factor = per_layer_factor(norms);
      const TrainOutcome out = fit(net, data.train, data.test, train);
      const double accuracy = out.diverged ? 0.0 : out.final_test_accuracy();
      o.set(fmt::format("{}_{}_signal_ratio", act, name), ratio);
      o.set(fmt::format("{}_{}_grad_factor", act, name), factor);
      o.set(fmt::format("{}_{}_accuracy", act, name), accuracy);
      o.rows.push_back({act, name, fmt::format("{:.3f}", stds.front()), fmt::format("{:.2e}", stds.back()),
                        fmt::format("{:.2e}", ratio), fmt::format("{:.3f}", factor),
                        out.diverged ? "diverged" : pct(accuracy)});
      line +=
          fmt::format(" {} activation std ×{:.1e} over {} layers, gradient ×{:.2f} per layer, accuracy {};",
                      name, ratio, s.depth, factor, pct(accuracy));
      if (k == 0) {
        he_accuracy = accuracy;
        matched_ok = matched_ok && ratio <= kSignalKept && ratio >= 1 / kSignalKept &&
                     factor >= kGradientKept && factor <= 1 / kGradientKept;
      } else {
        matched_ok = matched_ok && (ratio < kSignalShrunk || factor < kGradientKept) &&
                     (he_accuracy - accuracy) * 100 >= kInitAccuracyPoints;
      }
      sig.series.push_back(series(fmt::format("{} init", name), one_to(stds.size()), stds, k));
      grad.series.push_back(series(fmt::format("{} init", name), one_to(norms.size()), norms, k));
    }
    line.pop_back();
    text += (text.empty() ? "" : "; ") + line;
    signal_panels.push_back(std::move(sig));
    grad_panels.push_back(std::move(grad));
  }
  o.measured = text;
  o.threshold = fmt::format(
      "with {} init the last hidden layer's activation std stays within ×{:g} of the first's and the "
      "gradient's "
      "per-layer factor within [{:.2f}, {:.2f}]; every other init shrinks the activation std below ×{:g} or "
      "the "
      "gradient by a factor < {:.2f} per layer, and trains to at least {:g} points less accuracy",
      s.schemes.front(), kSignalKept, kGradientKept, 1 / kGradientKept, kSignalShrunk, kGradientKept,
      kInitAccuracyPoints);
  o.reproduced = matched_ok && s.schemes.size() >= 2;
  o.notes.push_back(fmt::format(
      "MLP {}-{}×{}-{}; statistics at init on {} MNIST test images; then {} epoch(s) of {} lr {:g} "
      "(momentum {:g}), batch {}, on {} training images. He: variance 2/fan_in; LeCun: 1/fan_in; torch "
      "(nn.Linear's default): 1/(3·fan_in).",
      data.train.features(), s.width, s.depth, data.train.num_classes, probe.size(), train.epochs,
      train.optimizer, train.lr, train.momentum, train.batch, data.train.size()));
  o.charts.push_back({"signal.svg", "activation std per hidden layer at init",
                      plot::render_svg_grid(signal_panels, 2, "Forward signal through depth, per init")});
  o.charts.push_back({"gradients.svg", "weight-gradient norm per layer at init",
                      plot::render_svg_grid(grad_panels, 2, "Backward signal through depth, per init")});
  return o;
}

}  // namespace bend::lab
