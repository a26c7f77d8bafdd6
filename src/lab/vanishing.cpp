// bend lab vanishing (see bend/lab/vanishing.hpp).
#include "bend/lab/vanishing.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/lab/claims.hpp"
#include "bend/nn/model_spec.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

double sigmoid_gradient_bound(std::int64_t depth) {
  return std::pow(kSigmoidMaxDerivative, static_cast<double>(depth));
}

std::vector<VanishingRun> run_vanishing(std::int64_t depth, std::int64_t width,
                                        const std::vector<std::string>& acts, nn::init::Scheme scheme,
                                        const TrainSettings& settings, const TensorDataset& train,
                                        const TensorDataset& test, const TensorDataset& probe,
                                        const std::function<void(const VanishingRun&)>& on_run) {
  std::vector<std::int64_t> sizes = {train.features()};
  for (std::int64_t i = 0; i < depth; ++i) sizes.push_back(width);
  sizes.push_back(train.num_classes);
  std::vector<VanishingRun> runs;
  for (const auto& a : acts) {
    Rng rng(settings.seed);
    nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, a), scheme, rng);
    VanishingRun r{a, train::diagnose(net, probe.images, probe.labels), {}, {}};
    r.outcome = fit(net, train, test, settings);
    r.trained = train::diagnose(net, probe.images, probe.labels);
    double sat = 0;
    const auto hidden = r.trained.hidden();
    for (const auto* h : hidden) sat += h->saturated_fraction;
    r.mean_saturated = sat / static_cast<double>(std::max<std::size_t>(1, hidden.size()));
    r.learns = !r.outcome.diverged && r.outcome.final_test_accuracy() > kLearnsOverChance / train.num_classes;
    r.forward_signal_died =
        !r.init.hidden().empty() && r.init.layers.back().weight_grad_norm < kDeadSignalGradNorm;
    if (on_run) on_run(r);
    runs.push_back(std::move(r));
  }
  return runs;
}

}  // namespace bend::lab

// ---------------------------------------------------------------------------------------------------
// The claim (bend/lab/claims.hpp).

namespace bend::lab {

ClaimOutcome vanishing_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const VanishingSettings& s = all.vanishing;
  const TensorDataset probe = train::probe_batch(mnist->test, s.probe);
  // sigmoid's largest derivative, measured on the activation table (not the constant above).
  const ActivationCurve sigmoid = sample_activation(activation("sigmoid"), -10, 10, 20001);
  const double bound20 = std::pow(sigmoid.max_derivative, 20.0);

  ClaimOutcome o;
  o.set("sigmoid_max_derivative", sigmoid.max_derivative);
  o.set("sigmoid_argmax_derivative", sigmoid.argmax_derivative);
  o.set("bound_20", bound20);
  o.header = {"activation",     "hidden layers",   "grad norm, layer 1", "grad norm, output layer",
              "first / output", "per-layer factor"};
  bool sigmoid_vanishes = true, relu_holds = true;
  std::string sigmoid_text, tanh_text, relu_text;
  std::vector<plot::LineChart> panels;
  for (std::int64_t depth : s.depths) {
    std::vector<std::int64_t> sizes = {mnist->train.features()};
    for (std::int64_t i = 0; i < depth; ++i) sizes.push_back(s.width);
    sizes.push_back(mnist->train.num_classes);
    plot::LineChart c =
        chart(fmt::format("{} hidden layers of {} (init, {} test images)", depth, s.width, probe.size()),
              "Linear layer (1 = input side)", "weight-gradient norm (log scale)");
    c.y_scale = plot::Scale::Log10;
    double sigmoid_last = 0;
    for (std::size_t a = 0; a < s.acts.size(); ++a) {
      const std::string& act = s.acts[a];
      Rng rng(all.seed);
      nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, act), nn::init::Scheme::Auto, rng);
      const std::vector<double> norms = linear_grad_norms(net, probe.images, probe.labels, false);
      const double factor = per_layer_factor(norms);
      o.set(fmt::format("{}_factor_{}", act, depth), factor);
      o.set(fmt::format("{}_ratio_{}", act, depth), norms.front() / norms.back());
      o.rows.push_back({act, fmt::format("{}", depth), fmt::format("{:.2e}", norms.front()),
                        fmt::format("{:.2e}", norms.back()),
                        fmt::format("{:.2e}", norms.front() / norms.back()), fmt::format("{:.3f}", factor)});
      const std::string text = fmt::format("{:.2f} per layer (first/output {:.1e}) at depth {}", factor,
                                           norms.front() / norms.back(), depth);
      if (act == "sigmoid") {
        sigmoid_vanishes = sigmoid_vanishes && factor <= kVanishingFactor;
        sigmoid_text += (sigmoid_text.empty() ? "" : ", ") + text;
        sigmoid_last = norms.back();
      } else if (act == "relu") {
        relu_holds = relu_holds && factor >= kHealthyFactorLow && factor <= 1 / kHealthyFactorLow;
        relu_text += (relu_text.empty() ? "" : ", ") + text;
      } else if (act == "tanh") {
        tanh_text += (tanh_text.empty() ? "" : ", ") + text;
      }
      c.series.push_back(series(act, one_to(norms.size()), norms, a));
    }
    if (sigmoid_last > 0) {
      // The docs' bound, drawn from the output layer back: × 0.25 per layer.
      std::vector<double> y;
      for (std::size_t k = 0; k <= static_cast<std::size_t>(depth); ++k)
        y.push_back(sigmoid_last * std::pow(kSigmoidMaxDerivative, static_cast<double>(depth) - k));
      plot::Series b = series("0.25 per layer from sigmoid's output layer", one_to(y.size()), y, 7, false);
      b.dashed = true;
      c.series.push_back(std::move(b));
    }
    panels.push_back(std::move(c));
  }
  o.measured = fmt::format(
      "max σ' = {:.4f} (at x = {:.2f}), so 0.25^20 bound = {:.2e}; gradient decay from the output layer "
      "back: sigmoid {}; tanh {}; relu {}",
      sigmoid.max_derivative, sigmoid.argmax_derivative, bound20, sigmoid_text, tanh_text, relu_text);
  o.threshold = fmt::format(
      "max σ' ≤ 0.25 and max σ'^20 ≤ 1e-12; sigmoid's gradient shrinks by a factor ≤ {:g} per layer at "
      "every depth; ReLU's per-layer factor stays within [{:.2f}, {:.2f}] (He init)",
      kVanishingFactor, kHealthyFactorLow, 1 / kHealthyFactorLow);
  o.reproduced = sigmoid.max_derivative <= kSigmoidMaxDerivative + 1e-7 && bound20 <= 1e-12 &&
                 sigmoid_vanishes && relu_holds;
  o.notes.push_back(fmt::format(
      "MLPs {}-{}×depth-{} at init (Xavier for sigmoid and tanh, He for ReLU: bend's `auto` init), the "
      "cross-entropy's weight gradient on {} MNIST test images. Per-layer factor = (layer-1 norm / output "
      "norm)^(1/depth): below 1 the gradient shrinks on its way to the input.",
      mnist->train.features(), s.width, mnist->train.num_classes, probe.size()));
  o.charts.push_back({"gradients.svg", "weight-gradient norm per layer at init",
                      plot::render_svg_grid(panels, 2, "Weight-gradient norm per layer at init")});
  return o;
}

}  // namespace bend::lab
