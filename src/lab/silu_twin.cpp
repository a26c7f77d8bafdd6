// bend lab silu-twin: how near a twin of GELU SiLU is, against x·σ(1.702x), from bend's activation table
// (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bend/activations.hpp"
#include "bend/lab/claims.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace silu_twin_detail {

// "Near-twin": the two curves never differ by more than this (in the units of x) on [−kRange, kRange].
constexpr double kNearTwinGap = 0.05;
constexpr double kRange = 6.0;
// σ(1.702x) is the logistic approximation of Φ(x) (Hendrycks & Gimpel's "x·σ(1.702x)").
constexpr double kLogisticScale = 1.702;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace silu_twin_detail

ClaimOutcome silu_twin_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  using namespace silu_twin_detail;
  const int points = all.quick ? 2401 : 24001;  // step 5e-3 / 5e-4
  const ActivationCurve gelu = sample_activation(activation("gelu"), -kRange, kRange, points);
  const ActivationCurve silu = sample_activation(activation("silu"), -kRange, kRange, points);
  double silu_gap = 0, silu_at = 0, scaled_gap = 0, scaled_at = 0, dsilu_gap = 0;
  std::vector<double> scaled, silu_diff, scaled_diff;
  for (std::size_t i = 0; i < gelu.x.size(); ++i) {
    const double x = gelu.x[i];
    const double s = x * sigmoid(kLogisticScale * x);
    scaled.push_back(s);
    silu_diff.push_back(silu.value[i] - gelu.value[i]);
    scaled_diff.push_back(s - gelu.value[i]);
    if (std::fabs(silu_diff.back()) > silu_gap) {
      silu_gap = std::fabs(silu_diff.back());
      silu_at = x;
    }
    if (std::fabs(scaled_diff.back()) > scaled_gap) {
      scaled_gap = std::fabs(scaled_diff.back());
      scaled_at = x;
    }
    dsilu_gap = std::max(dsilu_gap, std::fabs(silu.derivative[i] - gelu.derivative[i]));
  }
  ClaimOutcome o;
  o.set("silu_max_gap", silu_gap);
  o.set("silu_max_gap_at", silu_at);
  o.set("scaled_max_gap", scaled_gap);
  o.set("scaled_max_gap_at", scaled_at);
  o.set("silu_max_derivative_gap", dsilu_gap);
  o.set("step", 2 * kRange / (points - 1));
  const bool silu_twin = silu_gap <= kNearTwinGap, scaled_twin = scaled_gap <= kNearTwinGap;
  o.measured = fmt::format(
      "largest |SiLU − GELU| = {:.4f} at x = {:.2f} (slopes differ by up to {:.3f}); largest |x·σ({:g}x) − "
      "GELU| = {:.4f} at x = {:.2f}. {}",
      silu_gap, silu_at, dsilu_gap, kLogisticScale, scaled_gap, scaled_at,
      silu_twin
          ? "SiLU is within the near-twin bound"
          : fmt::format("SiLU = x·σ(x) is a sibling, not a twin: its gap is {:.0f}× that of x·σ({:g}x), "
                        "the curve that is GELU's near-twin",
                        silu_gap / scaled_gap, kLogisticScale));
  o.threshold = fmt::format(
      "a near-twin never differs from GELU by more than {:g} on [−{:g}, {:g}] (sampled at {} points from "
      "bend's float32 kernels)",
      kNearTwinGap, kRange, kRange, points);
  o.reproduced = silu_twin;
  o.notes.push_back(fmt::format(
      "Both curves share the shape x·gate(x), with gate Φ(x) for GELU and σ(x) for SiLU. σ(x) is flatter "
      "than Φ(x) (slope 1/4 against 1/√(2π) ≈ 0.399 at 0), so SiLU lags GELU for moderate |x|; "
      "σ({:g}x) matches Φ's slope and the gap shrinks to {:.4f}. x·σ(βx) with β = {:g} is within the "
      "near-twin bound: {}.",
      kLogisticScale, scaled_gap, kLogisticScale, scaled_twin ? "yes" : "no"));
  o.header = {"curve", "largest gap to GELU", "at x"};
  o.rows.push_back({"SiLU x·σ(x)", fmt::format("{:.4f}", silu_gap), fmt::format("{:.2f}", silu_at)});
  o.rows.push_back({fmt::format("x·σ({:g}x)", kLogisticScale), fmt::format("{:.4f}", scaled_gap),
                    fmt::format("{:.2f}", scaled_at)});
  plot::LineChart c = chart("Gap to GELU: SiLU against x·σ(1.702x)", "input x (dimensionless)",
                            "f(x) − GELU(x) (units of x)");
  c.reference_y = {-kNearTwinGap, 0.0, kNearTwinGap};
  c.series.push_back(series("SiLU − GELU", gelu.x, silu_diff, 0, false));
  c.series.push_back(series(fmt::format("x·σ({:g}x) − GELU", kLogisticScale), gelu.x, scaled_diff, 1, false));
  o.charts.push_back(svg_chart(
      "gap.svg", fmt::format("difference to GELU; dashed lines at ±{:g} (the near-twin bound)", kNearTwinGap),
      c));
  return o;
}

}  // namespace bend::lab
