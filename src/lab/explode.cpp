// bend lab explode: "unbounded (ReLU) can explode": activations and gradients through depth under a
// too-large init, bounded activations against unbounded ones (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace explode_detail {

// The too-large init: every weight this many times the activation's matched init (He for the ReLU
// family, Xavier with the gain for the squashers; `--init auto`).
constexpr float kInitScale = 2.0f;
// Exploded: the RMS activation grows geometrically, by at least this factor per layer on average
// (1.2^50 ≈ 9e3: it compounds with depth).
constexpr double kExplodingPerLayer = 1.2;

struct Settings {
  std::int64_t depth, width, batch;
};
Settings settings_for(bool quick) { return quick ? Settings{20, 64, 128} : Settings{40, 128, 256}; }

const std::vector<std::string> kUnbounded = {"relu", "leaky_relu", "gelu", "elu"};
const std::vector<std::string> kBounded = {"tanh", "sigmoid", "hardtanh"};

struct DepthProfile {
  std::string act;
  bool bounded = false;
  std::vector<double> rms;         // RMS of each hidden layer's output
  std::vector<double> grad_norms;  // weight-gradient norm of each Linear, input side first
  double growth = 0;               // rms.back() / rms.front()
  double per_layer = 0;            // growth^(1 / (layers - 1))
  double grad_growth = 0;          // grad_norms.front() / grad_norms.back() (growth on the way back)
};

DepthProfile profile(const std::string& act, bool bounded, const Settings& s, const Tensor& inputs,
                     const std::vector<std::int32_t>& labels, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int64_t> sizes = {inputs.shape()[1]};
  for (std::int64_t i = 0; i < s.depth; ++i) sizes.push_back(s.width);
  sizes.push_back(10);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, act), nn::init::Scheme::Auto, rng);
  for (std::size_t i = 0; i < net.size(); ++i)
    if (auto* l = net.get_if<nn::Linear>(i))
      for (float& w : l->weight.span()) w *= kInitScale;
  DepthProfile p;
  p.act = act;
  p.bounded = bounded;
  {
    NoGradGuard no_grad;
    Tensor x = inputs;
    for (std::size_t i = 0; i + 1 < net.size(); ++i) {
      x = net[i].forward(x);
      // The output of the activation right after a Linear: [N, units].
      if (i == 0 || net.get_if<nn::Linear>(i) || !net.get_if<nn::Linear>(i - 1)) continue;
      double sum = 0;
      for (float v : x.span()) sum += static_cast<double>(v) * v;
      p.rms.push_back(std::sqrt(sum / static_cast<double>(x.numel())));
    }
  }
  p.grad_norms = linear_grad_norms(net, inputs, labels, true);
  p.growth = p.rms.back() / p.rms.front();
  p.grad_growth = p.grad_norms.front() / p.grad_norms.back();
  p.per_layer = std::pow(p.growth, 1.0 / static_cast<double>(p.rms.size() - 1));
  return p;
}

}  // namespace explode_detail

ClaimOutcome explode_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  using namespace explode_detail;
  const Settings s = settings_for(all.quick);
  Rng rng(all.seed + 25006);
  const Tensor inputs = Tensor::normal({s.batch, s.width}, 0.0f, 1.0f, rng);
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < s.batch; ++i) labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  std::vector<DepthProfile> runs;
  for (const auto& a : kUnbounded) runs.push_back(profile(a, false, s, inputs, labels, all.seed));
  for (const auto& a : kBounded) runs.push_back(profile(a, true, s, inputs, labels, all.seed));

  ClaimOutcome o;
  bool unbounded_explode = true, bounded_stay = true;
  std::string up, down;
  for (const DepthProfile& p : runs) {
    o.set(p.act + "_growth", p.growth);
    o.set(p.act + "_per_layer", p.per_layer);
    o.set(p.act + "_last_rms", p.rms.back());
    o.set(p.act + "_grad_growth", p.grad_growth);
    const bool finite = std::isfinite(p.growth) && std::isfinite(p.grad_growth);
    if (p.bounded) {
      bounded_stay = bounded_stay && finite && p.rms.back() <= 1.0;
      down += fmt::format("{}{} ×{:.2g} (last RMS {:.2f}, gradient ×{:.2g})", down.empty() ? "" : ", ", p.act,
                          p.growth, p.rms.back(), p.grad_growth);
    } else {
      unbounded_explode = unbounded_explode && (!finite || p.per_layer >= kExplodingPerLayer);
      up += fmt::format("{}{} ×{:.2g} (×{:.2f} per layer; gradient ×{:.2g})", up.empty() ? "" : ", ", p.act,
                        p.growth, p.per_layer, p.grad_growth);
    }
  }
  o.reproduced = unbounded_explode && bounded_stay;
  o.measured = fmt::format(
      "RMS activation, last hidden layer over first, at {}× the matched init and depth {}: unbounded {}; "
      "bounded {}",
      kInitScale, s.depth, up, down);
  o.threshold = fmt::format(
      "every unbounded activation's RMS grows by ≥ {:g}× per layer on average from the first to the last "
      "hidden layer (or overflows); every bounded one stays finite with RMS ≤ 1 at the last layer",
      kExplodingPerLayer);
  o.notes.push_back(fmt::format(
      "MLPs of {} hidden layers of width {}, biases 0, every weight {}× `--init auto` (He for the ReLU "
      "family, Xavier with the gain for tanh/sigmoid/hardtanh); {} inputs drawn from N(0, 1), random labels "
      "for the cross-entropy whose weight gradients are followed back. Bounded outputs cannot explode by "
      "construction; their gradients still can (the gradient column: input-side norm over output-side "
      "norm), because the too-large weights multiply them on the way back — a bound on the outputs is no "
      "bound on the gradients.",
      s.depth, s.width, kInitScale, s.batch));
  o.header = {"activation", "bounded",   "RMS first layer", "RMS last layer",
              "growth",     "per layer", "gradient growth"};
  for (const DepthProfile& p : runs)
    o.rows.push_back({p.act, p.bounded ? "yes" : "no", fmt::format("{:.3g}", p.rms.front()),
                      fmt::format("{:.3g}", p.rms.back()), fmt::format("{:.3g}", p.growth),
                      fmt::format("{:.2f}", p.per_layer), fmt::format("{:.3g}", p.grad_growth)});
  plot::LineChart act = chart(fmt::format("Activations through depth at {}× the matched init", kInitScale),
                              "hidden layer", "RMS of the layer's output (log scale)");
  act.y_scale = plot::Scale::Log10;
  plot::LineChart grad =
      chart(fmt::format("Weight gradients through depth at {}× the matched init", kInitScale),
            "Linear layer (1 = input side)", "weight-gradient norm (log scale)");
  grad.y_scale = plot::Scale::Log10;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    plot::Series a = series(runs[i].act + (runs[i].bounded ? " (bounded)" : ""), one_to(runs[i].rms.size()),
                            runs[i].rms, i, false);
    a.dashed = runs[i].bounded;
    act.series.push_back(a);
    plot::Series g = series(a.label, one_to(runs[i].grad_norms.size()), runs[i].grad_norms, i, false);
    g.dashed = runs[i].bounded;
    grad.series.push_back(g);
  }
  o.charts.push_back(svg_chart("activations.svg", "RMS activation per hidden layer (dashed: bounded)", act));
  o.charts.push_back(svg_chart("gradients.svg", "weight-gradient norm per layer (dashed: bounded)", grad));
  return o;
}

}  // namespace bend::lab
