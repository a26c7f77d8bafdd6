// bend lab selu: a deep SELU MLP with LeCun-normal init keeps every layer's activations near mean 0 and
// variance 1 and trains without normalisation layers; the same depth of ReLU does not (Klambauer et
// al., 2017, "Self-Normalizing Neural Networks") (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/model_spec.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

namespace {

// The verdict. Self-normalising: on standardised inputs every hidden layer's activations have
// |mean| <= kSeluMeanBand and variance in [kSeluVarianceLow, kSeluVarianceHigh], at init and after training.
// Trains: SELU's test accuracy is at least kSeluTrainsAccuracy. ReLU does worse: the ReLU net of the same
// depth (He init, the init made for it; no BatchNorm) ends at least kSeluReluWorsePoints below SELU.
constexpr double kSeluMeanBand = 0.25;
constexpr double kSeluVarianceLow = 0.5;
constexpr double kSeluVarianceHigh = 2.0;
constexpr double kSeluTrainsAccuracy = 0.90;
constexpr double kSeluReluWorsePoints = 1.0;

struct SeluLayerStats {
  std::vector<double> mean, variance;  // per hidden activation, over every unit and probe image
};

// The statistics of each hidden activation's output of `net` (eval mode) on `images`.
SeluLayerStats selu_hidden_stats(nn::Sequential& net, const Tensor& images) {
  NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  SeluLayerStats s;
  Tensor x = images;
  for (std::size_t i = 0; i < net.size(); ++i) {
    x = net[i].forward(x);
    if (!net.get_if<nn::Activation>(i)) continue;
    double sum = 0, squares = 0;
    for (float v : x.span()) sum += v;
    const double n = static_cast<double>(x.numel()), mean = sum / n;
    for (float v : x.span()) squares += (v - mean) * (v - mean);
    s.mean.push_back(mean);
    s.variance.push_back(squares / n);
  }
  net.train(was_training);
  return s;
}

bool self_normalised(const SeluLayerStats& s) {
  for (std::size_t k = 0; k < s.mean.size(); ++k)
    if (!(std::fabs(s.mean[k]) <= kSeluMeanBand && s.variance[k] >= kSeluVarianceLow &&
          s.variance[k] <= kSeluVarianceHigh))
      return false;
  return !s.mean.empty();
}

double selu_largest(const std::vector<double>& v, bool absolute) {
  double out = 0;
  for (double x : v) out = std::max(out, absolute ? std::fabs(x) : x);
  return out;
}
double selu_smallest(const std::vector<double>& v) {
  return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

}  // namespace

ClaimOutcome selu_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const SeluSettings& s = all.selu;
  // Standardised inputs (one mean and std over all pixels of the training split), as the paper's
  // fixed point assumes; independent copies, so the caller's data stay as they were.
  LabData data = limit_data(*mnist, s.data);
  data.train = subset(data.train, 0, data.train.size());
  data.test = subset(data.test, 0, data.test.size());
  const Normalization norm = compute_normalization(data.train);
  normalize(data.train, norm);
  normalize(data.test, norm);
  const TensorDataset probe = train::probe_batch(data.test, s.probe);
  TrainSettings train = s.train;
  train.seed = all.seed;

  std::string hidden;
  for (std::int64_t i = 0; i < s.depth; ++i) hidden += fmt::format("-{}", s.width);
  struct Variant {
    std::string label, key, act;
    nn::init::Scheme init;
    bool alpha_dropout;
  };
  const std::vector<Variant> variants = {
      {"selu (LeCun normal, AlphaDropout)", "selu", "selu", nn::init::Scheme::LeCun, true},
      {"relu (He)", "relu_he", "relu", nn::init::Scheme::He, false},
      {"relu (LeCun normal)", "relu_lecun", "relu", nn::init::Scheme::LeCun, false}};

  ClaimOutcome o;
  o.header = {"net",
              "largest |mean| (init)",
              "variance range (init)",
              "largest |mean| (trained)",
              "variance range (trained)",
              "test accuracy"};
  plot::LineChart variance =
      chart(fmt::format("{} hidden layers at init: variance of each layer's activations", s.depth),
            "hidden layer (1 = input side)", "variance over units and test images (log scale)");
  variance.y_scale = plot::Scale::Log10;
  variance.reference_y = {1.0};
  plot::LineChart means =
      chart(fmt::format("{} hidden layers at init: mean of each layer's activations", s.depth),
            "hidden layer (1 = input side)", "mean over units and test images");
  means.reference_y = {0.0};
  plot::LineChart accuracy =
      chart(fmt::format("{} hidden layers, no normalisation layers: test accuracy", s.depth), "epoch",
            "test accuracy (%)");
  accuracy.y_min = 0;
  accuracy.y_max = 100;
  std::vector<double> acc;
  std::vector<bool> norm_init, norm_trained;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const Variant& var = variants[v];
    const std::string arch = fmt::format("{}{}{}-{}", data.train.features(), hidden,
                                         var.alpha_dropout ? fmt::format("-adrop{}", s.alpha_dropout) : "",
                                         data.train.num_classes);
    Rng rng(all.seed);
    nn::Sequential net = nn::build_model(nn::ModelSpec::parse(arch, var.act, "none"), var.init, rng);
    const SeluLayerStats init = selu_hidden_stats(net, probe.images);
    const TrainOutcome out = fit(net, data.train, data.test, train);
    const SeluLayerStats trained = selu_hidden_stats(net, probe.images);
    const double a = out.diverged ? 0.0 : out.final_test_accuracy();
    acc.push_back(a);
    norm_init.push_back(self_normalised(init));
    norm_trained.push_back(self_normalised(trained));
    o.set(var.key + "_max_abs_mean_init", selu_largest(init.mean, true));
    o.set(var.key + "_min_variance_init", selu_smallest(init.variance));
    o.set(var.key + "_max_variance_init", selu_largest(init.variance, false));
    o.set(var.key + "_max_abs_mean_trained", selu_largest(trained.mean, true));
    o.set(var.key + "_min_variance_trained", selu_smallest(trained.variance));
    o.set(var.key + "_max_variance_trained", selu_largest(trained.variance, false));
    o.set(var.key + "_accuracy", a);
    o.rows.push_back(
        {var.label, fmt::format("{:.3f}", selu_largest(init.mean, true)),
         fmt::format("{:.3g} … {:.3g}", selu_smallest(init.variance), selu_largest(init.variance, false)),
         fmt::format("{:.3f}", selu_largest(trained.mean, true)),
         fmt::format("{:.3g} … {:.3g}", selu_smallest(trained.variance),
                     selu_largest(trained.variance, false)),
         out.diverged ? "diverged" : pct(a)});
    variance.series.push_back(series(var.label, one_to(init.variance.size()), init.variance, v));
    means.series.push_back(series(var.label, one_to(init.mean.size()), init.mean, v));
    accuracy.series.push_back(
        series(var.label, one_to(out.test_accuracy.size()), percent(out.test_accuracy), v));
  }
  o.measured = fmt::format(
      "SELU: largest |mean| {:.3f} at init / {:.3f} trained, variance {:.2f}…{:.2f} at init / {:.2f}…{:.2f} "
      "trained, test accuracy {}; ReLU (He): variance {:.2f}…{:.2f} at init, accuracy {}; ReLU (LeCun): "
      "variance {:.2g}…{:.2g} at init, accuracy {}",
      o.number("selu_max_abs_mean_init"), o.number("selu_max_abs_mean_trained"),
      o.number("selu_min_variance_init"), o.number("selu_max_variance_init"),
      o.number("selu_min_variance_trained"), o.number("selu_max_variance_trained"), pct(acc[0]),
      o.number("relu_he_min_variance_init"), o.number("relu_he_max_variance_init"), pct(acc[1]),
      o.number("relu_lecun_min_variance_init"), o.number("relu_lecun_max_variance_init"), pct(acc[2]));
  o.threshold = fmt::format(
      "SELU: every hidden layer |mean| ≤ {:g} and variance in [{:g}, {:g}], at init and after training, and "
      "test accuracy ≥ {}; ReLU of the same depth (He init, no BatchNorm) ≥ {:g} points below SELU",
      kSeluMeanBand, kSeluVarianceLow, kSeluVarianceHigh, pct(kSeluTrainsAccuracy), kSeluReluWorsePoints);
  const bool relu_worse = (acc[0] - acc[1]) * 100 >= kSeluReluWorsePoints;
  o.reproduced = norm_init[0] && norm_trained[0] && acc[0] >= kSeluTrainsAccuracy && relu_worse;
  o.set("selu_normalised_init", norm_init[0] ? 1 : 0);
  o.set("selu_normalised_trained", norm_trained[0] ? 1 : 0);
  if (!relu_worse)
    o.notes.push_back(
        "The ReLU net of the same depth with He init is not worse here: the docs' contrast holds against "
        "ReLU with a mismatched init (LeCun), not against ReLU with its own init.");
  if (!norm_trained[0] && norm_init[0])
    o.notes.push_back("SELU's statistics start at the fixed point but leave the band during training.");
  o.notes.push_back(fmt::format(
      "MLP {}-{}×{}-{}, no normalisation layers; the SELU net has AlphaDropout(p={:g}) after its last hidden "
      "layer, as in the paper. Inputs standardised (one mean and std over all training pixels). {} epoch(s) "
      "of "
      "{} lr {:g}, batch {}, on {} MNIST images; statistics in eval mode on {} test images, over every unit "
      "of a layer.",
      data.train.features(), s.width, s.depth, data.train.num_classes, s.alpha_dropout, train.epochs,
      train.optimizer, train.lr, train.batch, data.train.size(), probe.size()));
  o.charts.push_back(
      svg_chart("variance.svg", "variance of each hidden layer's activations at init", variance));
  o.charts.push_back(svg_chart("mean.svg", "mean of each hidden layer's activations at init", means));
  o.charts.push_back(svg_chart("accuracy.svg", "test accuracy per epoch", accuracy));
  return o;
}

}  // namespace bend::lab
