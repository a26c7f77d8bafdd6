// bend lab dip: where GELU and SiLU dip below zero, measured on bend's activation table
// (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <cmath>

#include "bend/activations.hpp"
#include "bend/lab/claims.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

namespace {

// The docs' numbers for GELU's dip and the tolerance of the verdict.
constexpr double kGeluDipValue = -0.17, kGeluDipValueTolerance = 0.01;
constexpr double kGeluDipAt = -0.75, kGeluDipAtTolerance = 0.05;
// A dip counts as non-monotonic when it goes at least this far below the function's limit 0 at -inf.
constexpr double kClearDip = 0.01;

}  // namespace

ClaimOutcome dip_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  const int points = all.dip.points;
  // Ranges hold each minimum well inside; the step is 4 / (points - 1) (1e-4 by default).
  const ActivationCurve gelu = sample_activation(activation("gelu"), -3, 1, points);
  const ActivationCurve silu = sample_activation(activation("silu"), -3, 1, points);
  ClaimOutcome o;
  o.set("gelu_min", gelu.min_value);
  o.set("gelu_argmin", gelu.argmin_value);
  o.set("silu_min", silu.min_value);
  o.set("silu_argmin", silu.argmin_value);
  o.set("step", 4.0 / (points - 1));
  o.measured =
      fmt::format("GELU's minimum {:.4f} at x = {:.4f}; SiLU's minimum {:.4f} at x = {:.4f} (step {:.0e})",
                  gelu.min_value, gelu.argmin_value, silu.min_value, silu.argmin_value, 4.0 / (points - 1));
  o.threshold = fmt::format(
      "GELU's minimum within {:g} of {:g} and its location within {:g} of x = {:g}; SiLU's minimum below "
      "−{:g} (it falls, then rises: non-monotone)",
      kGeluDipValueTolerance, kGeluDipValue, kGeluDipAtTolerance, kGeluDipAt, kClearDip);
  o.reproduced = std::fabs(gelu.min_value - kGeluDipValue) <= kGeluDipValueTolerance &&
                 std::fabs(gelu.argmin_value - kGeluDipAt) <= kGeluDipAtTolerance &&
                 silu.min_value < -kClearDip;
  o.notes.push_back(fmt::format(
      "Sampled from bend's activation table (the float32 kernels training uses) at {} points on [−3, 1].",
      points));
  o.header = {"activation", "minimum value", "at x", "value at x = −3", "value at x = 0"};
  for (const ActivationCurve* c : {&gelu, &silu})
    o.rows.push_back({c->name, fmt::format("{:.5f}", c->min_value), fmt::format("{:.4f}", c->argmin_value),
                      fmt::format("{:.5f}", c->value.front()), fmt::format("{:.1f}", c->value_at_zero)});

  const ActivationCurve relu = sample_activation(activation("relu"), -4, 1, 501);
  const ActivationCurve gelu_wide = sample_activation(activation("gelu"), -4, 1, 501);
  const ActivationCurve silu_wide = sample_activation(activation("silu"), -4, 1, 501);
  plot::LineChart c = chart("GELU and SiLU dip below zero; ReLU does not", "x", "f(x)");
  c.reference_y = {0.0};
  c.y_min = -0.5;
  c.y_max = 1.0;
  c.series.push_back(series("relu", relu.x, relu.value, 0, false));
  c.series.push_back(series("gelu", gelu_wide.x, gelu_wide.value, 1, false));
  c.series.push_back(series("silu", silu_wide.x, silu_wide.value, 2, false));
  c.series.push_back(series(fmt::format("gelu minimum ({:.3f}, {:.3f})", gelu.argmin_value, gelu.min_value),
                            {gelu.argmin_value}, {gelu.min_value}, 1, true));
  c.series.push_back(series(fmt::format("silu minimum ({:.3f}, {:.3f})", silu.argmin_value, silu.min_value),
                            {silu.argmin_value}, {silu.min_value}, 2, true));
  o.charts.push_back(svg_chart("curves.svg", "GELU, SiLU and ReLU near the origin, minima marked", c));
  return o;
}

}  // namespace bend::lab
