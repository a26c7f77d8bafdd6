// bend lab batchnorm: BatchNorm1d before each sigmoid lets a 20-layer sigmoid MLP learn
// (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <cmath>

#include "bend/activations.hpp"
#include "bend/lab/claims.hpp"
#include "bend/lab/vanishing.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/batch_norm.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/train/diagnostics.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

namespace {

// The verdict: with BatchNorm the first layer's gradient is at least kGradientGain times the plain
// sigmoid net's, and its accuracy is within kBatchNormPoints of the ReLU net's.
constexpr double kGradientGain = 100.0;
constexpr double kBatchNormPoints = 5.0;

// sizes[0] - width x depth - classes with `act`; with batch_norm, Linear -> BatchNorm1d -> act.
nn::Sequential deep_net(const std::vector<std::int64_t>& sizes, const std::string& act, bool batch_norm,
                        Rng& rng) {
  nn::ModelSpec spec = nn::ModelSpec::mlp(sizes, act);
  if (batch_norm) spec = nn::ModelSpec::parse(spec.arch_string(), act, "batch");
  return nn::build_model(spec, nn::init::Scheme::Auto, rng);
}

}  // namespace

ClaimOutcome batchnorm_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const BatchNormSettings& s = all.batchnorm;
  const DeepSetup setup = deep_setup(s, all.seed, *mnist);
  const LabData& data = setup.data;
  const TensorDataset& probe = setup.probe;
  const TrainSettings& train = setup.train;
  const std::vector<std::int64_t>& sizes = setup.sizes;

  struct Variant {
    std::string label, key, act;
    bool batch_norm;
  };
  const std::vector<Variant> variants = {{"sigmoid", "sigmoid", "sigmoid", false},
                                         {"sigmoid + BatchNorm1d", "sigmoid_bn", "sigmoid", true},
                                         {"relu", "relu", "relu", false}};
  ClaimOutcome o;
  o.header = {"net",
              "layer-1 grad norm (init)",
              "output grad norm (init)",
              "per-layer factor (init)",
              "layer-1 grad norm (trained)",
              "test accuracy"};
  plot::LineChart accuracy =
      chart(fmt::format("{} hidden layers: test accuracy", s.depth), "epoch", "test accuracy (%)");
  accuracy.y_min = 0;
  accuracy.y_max = 100;
  accuracy.reference_y = {100.0 / static_cast<double>(data.train.num_classes)};
  accuracy.reference_labels = {fmt::format("chance ({:g}%)", accuracy.reference_y[0])};
  plot::LineChart grads =
      chart(fmt::format("{} hidden layers: weight-gradient norm per layer at init", s.depth),
            "Linear layer (1 = input side)", "weight-gradient norm (log scale)");
  grads.y_scale = plot::Scale::Log10;
  std::vector<double> first, acc;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    Rng rng(all.seed);
    nn::Sequential net = deep_net(sizes, variants[v].act, variants[v].batch_norm, rng);
    const std::vector<double> init = linear_grad_norms(net, probe.images, probe.labels, true);
    const TrainOutcome out = fit(net, data.train, data.test, train);
    const std::vector<double> trained = linear_grad_norms(net, probe.images, probe.labels, true);
    const double a = out.diverged ? 0.0 : out.final_test_accuracy();
    first.push_back(init.front());
    acc.push_back(a);
    o.set(variants[v].key + "_grad_first", init.front());
    o.set(variants[v].key + "_grad_factor", per_layer_factor(init));
    o.set(variants[v].key + "_accuracy", a);
    o.rows.push_back({variants[v].label, fmt::format("{:.2e}", init.front()),
                      fmt::format("{:.2e}", init.back()), fmt::format("{:.3f}", per_layer_factor(init)),
                      fmt::format("{:.2e}", trained.front()), out.diverged ? "diverged" : pct(a)});
    accuracy.series.push_back(
        series(variants[v].label, one_to(out.test_accuracy.size()), percent(out.test_accuracy), v));
    grads.series.push_back(series(variants[v].label, one_to(init.size()), init, v));
  }
  const double chance = 1.0 / static_cast<double>(data.train.num_classes);
  o.measured = fmt::format(
      "layer-1 gradient norm at init: sigmoid {:.1e}, sigmoid + BatchNorm1d {:.1e}, relu {:.1e}; test "
      "accuracy: "
      "sigmoid {}, sigmoid + BatchNorm1d {}, relu {}",
      first[0], first[1], first[2], pct(acc[0]), pct(acc[1]), pct(acc[2]));
  o.threshold = fmt::format(
      "plain sigmoid does not learn (accuracy ≤ {:g}× chance = {}) while ReLU does; with BatchNorm1d the "
      "layer-1 gradient is "
      "≥ {:g}× larger and the accuracy within {:g} points of ReLU's",
      kLearnsOverChance, pct(kLearnsOverChance * chance), kGradientGain, kBatchNormPoints);
  o.reproduced = acc[0] <= kLearnsOverChance * chance && acc[2] > kLearnsOverChance * chance &&
                 first[1] >= kGradientGain * first[0] && (acc[2] - acc[1]) * 100 <= kBatchNormPoints;
  o.notes.push_back(
      fmt::format("MLP {}-{}×{}-{} (Xavier init for sigmoid, He for ReLU); BatchNorm1d between each hidden "
                  "Linear and its "
                  "sigmoid. {} epoch(s) of {} lr {:g}, batch {}, on {} MNIST images; gradients in training "
                  "mode on {} test images. Chance is {} (dashed line).",
                  data.train.features(), s.width, s.depth, data.train.num_classes, train.epochs,
                  train.optimizer, train.lr, train.batch, data.train.size(), probe.size(), pct(chance)));
  o.charts.push_back(svg_chart("accuracy.svg", "test accuracy per epoch", accuracy));
  o.charts.push_back(svg_chart("gradients.svg", "weight-gradient norm per layer at init", grads));
  return o;
}

}  // namespace bend::lab
