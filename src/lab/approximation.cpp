// bend lab universal-approx: one hidden layer of growing width fits 1-d functions, a linear model does not
// (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace approximation_detail {

// "Approximates": the widest net's RMS error on a fine test grid is at most this (the functions' values
// span [−1, 1] or [0, 1])...
constexpr double kApproxRmse = 0.03;
// ... and at most this fraction of the linear model's.
constexpr double kBeatsLinear = 0.1;
// The hidden units' initial slopes and offsets: uniform in ±this, so their bends spread over [−1, 1].
constexpr float kInitSpread = 4.0f;
constexpr double kLr = 0.01;

struct Settings {
  std::vector<std::int64_t> widths;
  std::int64_t steps, train_points, test_points;
};
Settings settings_for(bool quick) {
  if (quick) return {{1, 2, 8, 32, 128}, 800, 128, 501};
  return {{1, 2, 4, 8, 16, 32, 64, 128, 256}, 3000, 256, 2001};
}

struct Target {
  const char* name;
  double (*f)(double);
  bool continuous;
};
const Target kTargets[] = {
    {"sin(πx)", [](double x) { return std::sin(std::numbers::pi * x); }, true},
    {"|x|", [](double x) { return std::fabs(x); }, true},
    {"step 1[x>0]", [](double x) { return x > 0 ? 1.0 : 0.0; }, false},
};

std::vector<float> grid(std::int64_t n, bool midpoints) {
  std::vector<float> x;
  for (std::int64_t i = 0; i < n; ++i)
    x.push_back(static_cast<float>(-1.0 + 2.0 * (static_cast<double>(i) + (midpoints ? 0.5 : 0.0)) /
                                              static_cast<double>(midpoints ? n : n - 1)));
  return x;
}

struct Errors {
  double rmse = 0, max = 0;
};

Errors errors(const std::vector<float>& x, const std::vector<double>& pred, double (*f)(double)) {
  Errors e;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = pred[i] - f(x[i]);
    e.rmse += d * d;
    e.max = std::max(e.max, std::fabs(d));
  }
  e.rmse = std::sqrt(e.rmse / static_cast<double>(x.size()));
  return e;
}

// Least squares a + b·x on the training points, evaluated on the test grid.
std::vector<double> linear_fit(const std::vector<float>& train, double (*f)(double),
                               const std::vector<float>& test) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const auto n = static_cast<double>(train.size());
  for (float xf : train) {
    const double x = xf, y = f(x);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double b = (n * sxy - sx * sy) / (n * sxx - sx * sx), a = (sy - b * sx) / n;
  std::vector<double> out;
  for (float x : test) out.push_back(a + b * x);
  return out;
}

// A 1-w-1 tanh net trained full-batch with Adam on MSE; its predictions on the test grid.
std::vector<double> net_fit(std::int64_t width, const std::vector<float>& train, double (*f)(double),
                            const std::vector<float>& test, std::int64_t steps, std::uint64_t seed) {
  Rng rng(seed);
  Tensor w1 = Tensor::uniform({width, 1}, -kInitSpread, kInitSpread, rng);
  Tensor b1 = Tensor::uniform({width}, -kInitSpread, kInitSpread, rng);
  const float bound = 1.0f / std::sqrt(static_cast<float>(width));
  Tensor w2 = Tensor::uniform({1, width}, -bound, bound, rng);
  Tensor b2 = Tensor::zeros({1});
  for (Tensor* p : {&w1, &b1, &w2, &b2}) p->requires_grad_();
  optim::Adam adam({w1, b1, w2, b2}, kLr);
  const auto n = static_cast<std::int64_t>(train.size());
  const Tensor x = Tensor::from(std::span<const float>(train), {n, 1});
  std::vector<float> ys;
  for (float v : train) ys.push_back(static_cast<float>(f(v)));
  const Tensor y = Tensor::from(std::span<const float>(ys), {n, 1});
  for (std::int64_t step = 0; step < steps; ++step) {
    adam.zero_grad();
    Tensor loss = mse_loss(linear(tanh(linear(x, w1, b1)), w2, b2), y);
    loss.backward();
    adam.step();
  }
  NoGradGuard no_grad;
  const Tensor xt = Tensor::from(std::span<const float>(test), {static_cast<std::int64_t>(test.size()), 1});
  const Tensor pred = linear(tanh(linear(xt, w1, b1)), w2, b2);
  std::vector<double> out;
  for (float v : pred.span()) out.push_back(v);
  return out;
}

}  // namespace approximation_detail

ClaimOutcome approximation_claim(const LabSettings& all, const LabData*) {
  using namespace detail;
  using namespace approximation_detail;
  const Settings s = settings_for(all.quick);
  const std::vector<float> train = grid(s.train_points, false), test = grid(s.test_points, true);
  ClaimOutcome o;
  bool holds = true;
  std::string text;
  plot::LineChart c = chart("Universal approximation: error against hidden width (one tanh layer)",
                            "hidden units (log scale)", "RMS error on the test grid (log scale)");
  c.x_scale = plot::Scale::Log10;
  c.y_scale = plot::Scale::Log10;
  o.header = {"function", "linear model RMSE"};
  for (std::int64_t w : s.widths) o.header.push_back(fmt::format("width {}", w));
  o.header.push_back("widest: max error");
  std::size_t k = 0;
  for (const Target& t : kTargets) {
    const Errors lin = errors(test, linear_fit(train, t.f, test), t.f);
    std::vector<double> xs, rmse;
    Errors widest;
    std::vector<std::string> row = {t.name, fmt::format("{:.4f}", lin.rmse)};
    for (std::int64_t w : s.widths) {
      const Errors e = errors(test, net_fit(w, train, t.f, test, s.steps, all.seed + 25007), t.f);
      xs.push_back(static_cast<double>(w));
      rmse.push_back(e.rmse);
      row.push_back(fmt::format("{:.4f}", e.rmse));
      widest = e;
    }
    row.push_back(fmt::format("{:.3f}", widest.max));
    o.rows.push_back(row);
    const std::string key = k == 0 ? "sin" : k == 1 ? "abs" : "step";
    o.set(key + "_linear_rmse", lin.rmse);
    o.set(key + "_width1_rmse", rmse.front());
    o.set(key + "_widest_rmse", widest.rmse);
    o.set(key + "_widest_max_error", widest.max);
    if (t.continuous) holds = holds && widest.rmse <= kApproxRmse && widest.rmse <= kBeatsLinear * lin.rmse;
    text +=
        fmt::format("{}{}: RMSE {:.4f} at width {} (width 1: {:.4f}; linear: {:.4f}{})",
                    text.empty() ? "" : "; ", t.name, widest.rmse, s.widths.back(), rmse.front(), lin.rmse,
                    t.continuous ? "" : fmt::format("; largest error {:.2f}, at the jump", widest.max));
    c.series.push_back(series(t.name, xs, rmse, k, true));
    plot::Series base = series(std::string(t.name) + ": linear model", {xs.front(), xs.back()},
                               {lin.rmse, lin.rmse}, k, false);
    base.dashed = true;
    c.series.push_back(std::move(base));
    ++k;
  }
  o.reproduced = holds;
  o.measured = text;
  o.threshold = fmt::format(
      "for the continuous functions (sin(πx), |x|) on [−1, 1], the widest net's RMS error ≤ {:g} and ≤ {:g}× "
      "the linear model's; the step is outside the theorem (not continuous) and reported only",
      kApproxRmse, kBeatsLinear);
  o.notes.push_back(fmt::format(
      "1-w-1 nets with a tanh hidden layer, first-layer weights and biases uniform in ±{:g}, trained "
      "full-batch with Adam (lr {:g}, {} steps) on MSE at {} evenly spaced points of [−1, 1]; errors on {} "
      "points between them. The linear model is the least-squares line. For the step the theorem promises "
      "nothing uniform: a continuous net must cross the jump, so its largest error stays near 0.5 however "
      "wide it is, while the RMS error still falls.",
      kInitSpread, kLr, s.steps, s.train_points, s.test_points));
  o.charts.push_back(svg_chart("width.svg", "RMS error against hidden width; dashed: the linear model", c));
  return o;
}

}  // namespace bend::lab
