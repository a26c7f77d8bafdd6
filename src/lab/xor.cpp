// bend lab xor (see bend/lab/xor.hpp).
#include "bend/lab/xor.hpp"
#include <fmt/format.h>
#include <cmath>
#include "bend/lab/claims.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

std::vector<XorResult> run_xor(const std::vector<std::string>& acts, std::int64_t hidden, std::int64_t steps,
                               double lr, std::uint64_t seed) {
  std::vector<XorResult> results;
  results.push_back(train_xor("", hidden, steps, lr, seed));
  for (const auto& a : acts) results.push_back(train_xor(a, hidden, steps, lr, seed));
  return results;
}

}  // namespace bend::lab

// ---------------------------------------------------------------------------------------------------
// The claim (bend/lab/claims.hpp).

namespace bend::lab {

ClaimOutcome xor_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  const XorSettings& s = all.xor_;
  const std::vector<XorResult> results = run_xor(s.acts, s.hidden, s.steps, s.lr, all.seed);
  const XorResult& linear = results.front();
  double worst_loss = 0, worst_accuracy = 1;
  std::string worst_act;
  int solved = 0;
  for (std::size_t i = 1; i < results.size(); ++i) {
    const XorResult& r = results[i];
    if (r.accuracy == 1.0 && r.final_loss <= kXorSolvedLoss) ++solved;
    if (r.final_loss >= worst_loss) {
      worst_loss = r.final_loss;
      worst_act = r.activation;
    }
    worst_accuracy = std::min(worst_accuracy, r.accuracy);
  }
  const int bends = static_cast<int>(results.size()) - 1;
  ClaimOutcome o;
  o.set("linear_loss", linear.final_loss);
  o.set("linear_accuracy", linear.accuracy);
  o.set("solved", solved);
  o.set("bends", bends);
  o.set("worst_bend_loss", worst_loss);
  o.set("worst_bend_accuracy", worst_accuracy);
  o.measured = fmt::format(
      "linear model: loss {:.4f} (ln 2 = {:.4f}), {:.0f}% of the 4 points; with one hidden layer: {}/{} "
      "activations reach 100% (highest loss {:.1e}, {})",
      linear.final_loss, kXorLinearBestLoss, 100 * linear.accuracy, solved, bends, worst_loss, worst_act);
  o.threshold = fmt::format(
      "the linear model's loss ≥ {:g}·ln 2 and accuracy ≤ 75%; every hidden activation classifies all "
      "4 points with loss ≤ {:g}",
      kXorLinearLossFraction, kXorSolvedLoss);
  o.reproduced = linear.final_loss >= kXorLinearLossFraction * kXorLinearBestLoss &&
                 linear.accuracy <= 0.75 && bends > 0 && solved == bends;
  o.notes.push_back(
      fmt::format("XOR's four points as two classes, 2-{}-2 nets, cross-entropy, {} full-batch "
                  "Adam steps at lr {:g}.",
                  s.hidden, s.steps, s.lr));
  o.header = {"hidden activation", "final loss", "accuracy", "P(1|0,0)", "P(1|0,1)", "P(1|1,0)", "P(1|1,1)"};
  for (const auto& r : results)
    o.rows.push_back({r.activation.empty() ? "none (linear)" : r.activation,
                      fmt::format("{:.4f}", r.final_loss), fmt::format("{:.0f}%", 100 * r.accuracy),
                      fmt::format("{:.3f}", r.outputs[0]), fmt::format("{:.3f}", r.outputs[1]),
                      fmt::format("{:.3f}", r.outputs[2]), fmt::format("{:.3f}", r.outputs[3])});
  plot::LineChart c = chart("XOR: a linear model stays at ln 2 (dashed grey line), a bend fits it",
                            "Adam step", "cross-entropy (nats, log scale)");
  c.y_scale = plot::Scale::Log10;
  c.reference_y = {kXorLinearBestLoss};
  c.reference_labels = {"ln 2"};
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::vector<double> x;
    for (std::size_t k = 0; k < results[i].loss_curve.size(); ++k)
      x.push_back(static_cast<double>(kXorCurveStride * static_cast<std::int64_t>(k)));
    plot::Series line =
        series(results[i].activation.empty() ? "linear (no activation)" : results[i].activation, x,
               results[i].loss_curve, i, false);
    line.dashed = results[i].activation.empty();
    c.series.push_back(std::move(line));
  }
  o.charts.push_back(svg_chart("loss.svg", "cross-entropy during training, per hidden activation", c));
  return o;
}

}  // namespace bend::lab
