// bend lab gelu-noise: is GELU "the expected value of ReLU under Gaussian noise on the input"? Both
// readings by Monte Carlo against bend's GELU kernel (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "bend/activations.hpp"
#include "bend/lab/claims.hpp"
#include "bend/rng.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace gelu_noise_detail {

// A Monte Carlo mean agrees with a curve when it is within this many of its standard errors of it
// (plus the float32 rounding of bend's kernel). 5 standard errors: a chance miss at 61 points is < 1e-4.
constexpr double kAgreeSigmas = 5.0;
constexpr double kKernelRounding = 1e-5;
constexpr double kRange = 3.0;  // x in [−3, 3]

struct Settings {
  std::int64_t samples;  // noise draws ε ~ N(0, 1), shared by every x
  int points;            // grid of x
};
Settings settings_for(bool quick) { return quick ? Settings{100000, 25} : Settings{1000000, 61}; }

double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi); }

}  // namespace gelu_noise_detail

ClaimOutcome gelu_noise_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  using namespace gelu_noise_detail;
  const Settings s = settings_for(all.quick);
  Rng rng(all.seed + 25002);
  std::vector<double> noise(static_cast<std::size_t>(s.samples));
  for (double& e : noise) e = rng.normal();

  std::vector<float> xs(static_cast<std::size_t>(s.points)), gelu(xs.size());
  for (int i = 0; i < s.points; ++i)
    xs[static_cast<std::size_t>(i)] = static_cast<float>(-kRange + 2 * kRange * i / (s.points - 1));
  const ActivationInfo& info = activation("gelu");
  info.kernel.forward(xs.data(), gelu.data(), static_cast<std::int64_t>(xs.size()), info.defaults);

  std::vector<double> x, gate, relu, gelu_d, relu_exact;
  double gate_worst_z = 0, relu_worst_z = 0, relu_gap = 0, relu_gap_at = 0, relu_exact_gap = 0;
  const auto n = static_cast<double>(s.samples);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double xi = xs[i];
    // Reading 1, noise on the gate's input: x·1[x + ε > 0]. Reading 2, noise on ReLU's input: ReLU(x + ε).
    double pass = 0, sum = 0, sum_sq = 0;
    for (double e : noise) {
      pass += (xi + e > 0) ? 1.0 : 0.0;
      const double r = std::max(0.0, xi + e);
      sum += r;
      sum_sq += r * r;
    }
    const double p = pass / n, g = xi * p;
    const double g_se = std::fabs(xi) * std::sqrt(p * (1 - p) / n);
    const double r_mean = sum / n, r_se = std::sqrt(std::max(0.0, sum_sq / n - r_mean * r_mean) / n);
    const double target = gelu[i];
    gate_worst_z = std::max(gate_worst_z, std::fabs(g - target) / (g_se + kKernelRounding));
    relu_worst_z = std::max(relu_worst_z, std::fabs(r_mean - target) / (r_se + kKernelRounding));
    if (std::fabs(r_mean - target) > relu_gap) {
      relu_gap = std::fabs(r_mean - target);
      relu_gap_at = xi;
    }
    // What ReLU(x + ε) should average to: x·Φ(x) + φ(x), i.e. GELU + φ(x).
    const double exact = target + phi(xi);
    relu_exact_gap = std::max(relu_exact_gap, std::fabs(r_mean - exact) / (r_se + kKernelRounding));
    x.push_back(xi);
    gate.push_back(g);
    relu.push_back(r_mean);
    gelu_d.push_back(target);
    relu_exact.push_back(exact);
  }
  const bool gate_is_gelu = gate_worst_z <= kAgreeSigmas;
  const bool relu_is_gelu = relu_worst_z <= kAgreeSigmas;
  ClaimOutcome o;
  o.set("gate_worst_z", gate_worst_z);
  o.set("relu_worst_z", relu_worst_z);
  o.set("relu_max_gap", relu_gap);
  o.set("relu_max_gap_at", relu_gap_at);
  o.set("relu_vs_gelu_plus_phi_worst_z", relu_exact_gap);
  o.set("samples", n);
  o.measured = fmt::format(
      "noise on the gate's input, E[x·1[x+ε>0]], matches GELU at every x (worst {:.1f} standard errors); "
      "noise on ReLU's input, E[ReLU(x+ε)], does not: it is GELU + φ(x) (worst {:.1f} SE from that), up to "
      "{:.3f} above GELU at x = {:.2f} (φ(0) = {:.3f}). The docs' wording names the second reading: {}",
      gate_worst_z, relu_exact_gap, relu_gap, relu_gap_at, phi(0),
      relu_is_gelu ? "it holds" : "as worded the claim is wrong; the gate reading is the true one");
  o.threshold = fmt::format(
      "a reading equals GELU when its Monte Carlo mean is within {:g} standard errors (+{:g} for float "
      "rounding) of bend's GELU at every x on [−{:g}, {:g}]; the verdict is for the docs' words, \"ReLU "
      "under Gaussian noise on the input\", i.e. E[ReLU(x+ε)]",
      kAgreeSigmas, kKernelRounding, kRange, kRange);
  o.reproduced = relu_is_gelu;
  o.notes.push_back(fmt::format(
      "{} draws of ε ~ N(0, 1), the same draws for every one of {} points x. GELU(x) = x·Φ(x) and "
      "P(x + ε > 0) = Φ(x), so the stochastic gate x·1[x+ε>0] (Hendrycks & Gimpel's reading: keep x with "
      "probability Φ(x)) averages to GELU exactly; ReLU(x + ε) also passes the noise itself through and "
      "averages to x·Φ(x) + φ(x), a softplus-like curve. Gate reading equals GELU: {}.",
      s.samples, s.points, gate_is_gelu ? "yes" : "no"));
  o.header = {"x", "GELU (bend)", "E[x·1[x+ε>0]]", "E[ReLU(x+ε)]", "x·Φ(x)+φ(x)"};
  for (std::size_t i = 0; i < x.size(); i += std::max<std::size_t>(1, x.size() / 12))
    o.rows.push_back({fmt::format("{:.2f}", x[i]), fmt::format("{:.4f}", gelu_d[i]),
                      fmt::format("{:.4f}", gate[i]), fmt::format("{:.4f}", relu[i]),
                      fmt::format("{:.4f}", relu_exact[i])});
  plot::LineChart c = chart("GELU is the expected gated input, not the expected ReLU of a noisy input",
                            "input x (dimensionless)", "expected output (same units as x)");
  c.series.push_back(series("GELU (bend)", x, gelu_d, 0, false));
  c.series.push_back(series("E[x·1[x+ε>0]] (MC)", x, gate, 1, true));
  c.series.push_back(series("E[ReLU(x+ε)] (MC)", x, relu, 2, true));
  plot::Series exact = series("x·Φ(x) + φ(x)", x, relu_exact, 3, false);
  exact.dashed = true;
  c.series.push_back(std::move(exact));
  o.charts.push_back(
      svg_chart("readings.svg", "the two readings of \"ReLU under Gaussian noise\" against GELU", c));
  return o;
}

}  // namespace bend::lab
