// bend lab large-step: one too-large SGD step kills ReLU units for good, the large-learning-rate route
// to dead units (the dying-relu experiment takes the bad-init route) (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/optim/sgd.hpp"
#include "claim_charts.hpp"
#include "claim_training.hpp"

namespace bend::lab {

namespace {

// The verdict: after one step at some multiple of the learning rate and a recovery epoch at the normal
// rate, at least kLargeStepNoticeable of the hidden units are dead (silent on every measuring image) where
// the run whose step was at the normal rate ends with at most kLargeStepNormalDead dead.
constexpr double kLargeStepNoticeable = 0.10;
constexpr double kLargeStepNormalDead = 0.02;

// For every hidden unit (Linear followed by an activation), whether its pre-activation is > 0 on some
// row of `images`; the units of all hidden layers in order, with the layer sizes.
std::vector<char> large_step_alive(nn::Sequential& net, const Tensor& images,
                                   std::vector<std::int64_t>* layer_sizes) {
  NoGradGuard no_grad;
  std::vector<char> alive;
  if (layer_sizes) layer_sizes->clear();
  Tensor x = images;
  for (std::size_t i = 0; i < net.size(); ++i) {
    x = net[i].forward(x);
    if (!(net.get_if<nn::Linear>(i) && i + 1 < net.size() && net.get_if<nn::Activation>(i + 1))) continue;
    const std::int64_t n = x.size(0), u = x.size(1);
    const std::size_t base = alive.size();
    alive.resize(base + static_cast<std::size_t>(u), 0);
    const float* p = x.data();
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t k = 0; k < u; ++k) alive[base + static_cast<std::size_t>(k)] |= p[r * u + k] > 0.0f;
    if (layer_sizes) layer_sizes->push_back(u);
  }
  return alive;
}

double large_step_dead_share(const std::vector<char>& alive) {
  return alive.empty() ? 0.0
                       : static_cast<double>(std::count(alive.begin(), alive.end(), 0)) /
                             static_cast<double>(alive.size());
}

struct LargeStepRun {
  double multiplier = 1;
  double dead_before = 0, dead_after_step = 0, dead_end = 0;
  double killed = 0;      // share of units alive before the step and dead after it
  double still_dead = 1;  // of those, the share still dead after the recovery epoch
  double first_layer_dead_end = 0;
  double accuracy = 0;  // test accuracy after the recovery epoch
  bool diverged = false;
};

double large_step_accuracy(nn::Sequential& net, const TensorDataset& test) {
  NoGradGuard no_grad;
  const Tensor out = net.forward(test.images);
  const std::int64_t c = out.size(1);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < test.size(); ++i) {
    const float* row = out.data() + i * c;
    correct += std::max_element(row, row + c) - row == test.labels[static_cast<std::size_t>(i)] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

LargeStepRun run_large_step(const LargeStepSettings& s, double multiplier, std::uint64_t seed,
                            const TensorDataset& train, const TensorDataset& test,
                            const TensorDataset& measure) {
  Rng rng(seed);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(s.sizes, "relu"), nn::init::Scheme::He, rng);
  optim::SGD opt(net.parameters(), s.lr);
  Rng order(seed + 1);
  std::vector<std::int32_t> labels;
  auto loss_of = [&](std::span<const std::int64_t> rows) {
    labels.clear();
    for (std::int64_t r : rows) labels.push_back(train.labels[static_cast<std::size_t>(r)]);
    return cross_entropy(net.forward(index_select_rows(train.images, rows)), labels);
  };
  LargeStepRun run;
  run.multiplier = multiplier;
  detail::train_epoch(opt, train.size(), s.batch, order, loss_of);  // warm-up at the normal rate
  const std::vector<char> before = large_step_alive(net, measure.images, nullptr);
  // The one step, on the first batch of the training set.
  std::vector<std::int64_t> first(static_cast<std::size_t>(std::min(s.batch, train.size())));
  for (std::size_t k = 0; k < first.size(); ++k) first[k] = static_cast<std::int64_t>(k);
  opt.set_lr(s.lr * multiplier);
  opt.zero_grad();
  {
    Tensor loss = loss_of(first);
    loss.backward();
  }
  opt.step();
  opt.set_lr(s.lr);
  const std::vector<char> after = large_step_alive(net, measure.images, nullptr);
  const double recovery = detail::train_epoch(opt, train.size(), s.batch, order, loss_of);
  std::vector<std::int64_t> layers;
  const std::vector<char> end = large_step_alive(net, measure.images, &layers);
  run.diverged = !std::isfinite(recovery);
  run.dead_before = large_step_dead_share(before);
  run.dead_after_step = large_step_dead_share(after);
  run.dead_end = large_step_dead_share(end);
  std::int64_t killed = 0, stayed = 0;
  for (std::size_t k = 0; k < after.size(); ++k)
    if (before[k] && !after[k]) {
      ++killed;
      stayed += end[k] ? 0 : 1;
    }
  run.killed = after.empty() ? 0.0 : static_cast<double>(killed) / static_cast<double>(after.size());
  run.still_dead = killed ? static_cast<double>(stayed) / static_cast<double>(killed) : 1.0;
  if (!layers.empty())
    run.first_layer_dead_end =
        large_step_dead_share(std::vector<char>(end.begin(), end.begin() + layers.front()));
  run.accuracy = run.diverged ? 0.0 : large_step_accuracy(net, test);
  return run;
}

}  // namespace

ClaimOutcome large_step_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const LargeStepSettings& s = all.large_step;
  const LabData data = limit_data(*mnist, s.data);
  const TensorDataset measure = subset(data.train, 0, std::min(s.measure, data.train.size()));
  std::vector<LargeStepRun> runs;
  for (double m : s.multipliers)
    runs.push_back(run_large_step(s, m, all.seed, data.train, data.test, measure));

  ClaimOutcome o;
  o.header = {"one step at",
              "dead before",
              "dead right after",
              "killed by the step",
              "of those, dead after recovery",
              "dead at the end (layer 1)",
              "test accuracy"};
  const LargeStepRun* normal = nullptr;
  const LargeStepRun* killer = nullptr;  // the smallest multiplier that kills a noticeable share
  std::string text;
  for (const LargeStepRun& r : runs) {
    if (r.multiplier == 1) normal = &r;
    if (!killer && r.multiplier > 1 && r.dead_end >= kLargeStepNoticeable && !r.diverged) killer = &r;
    const std::string key = fmt::format("x{:g}", r.multiplier);
    o.set(key + "_dead_after_step", r.dead_after_step);
    o.set(key + "_killed", r.killed);
    o.set(key + "_still_dead", r.still_dead);
    o.set(key + "_dead_end", r.dead_end);
    o.set(key + "_accuracy", r.accuracy);
    o.rows.push_back({fmt::format("{:g}× lr ({:g})", r.multiplier, r.multiplier * s.lr), pct(r.dead_before),
                      pct(r.dead_after_step), pct(r.killed), r.killed > 0 ? pct(r.still_dead) : "-",
                      fmt::format("{} ({})", pct(r.dead_end), pct(r.first_layer_dead_end)),
                      r.diverged ? "diverged" : pct(r.accuracy)});
    text += fmt::format(
        "{}{:g}× lr: {} dead after the step ({} killed by it{}), {} dead after recovery, accuracy {}",
        text.empty() ? "" : "; ", r.multiplier, pct(r.dead_after_step), pct(r.killed),
        r.killed > 0 ? fmt::format(", {} of those still dead after recovery", pct(r.still_dead)) : "",
        pct(r.dead_end), r.diverged ? "diverged" : pct(r.accuracy));
  }
  o.measured = text;
  o.threshold = fmt::format(
      "after the one step and a recovery epoch at the normal rate, ≥ {} of the hidden units are dead for "
      "some "
      "larger step, where the step at the normal rate ends with ≤ {} dead",
      pct(kLargeStepNoticeable), pct(kLargeStepNormalDead));
  o.reproduced = normal && normal->dead_end <= kLargeStepNormalDead && killer;
  o.notes.push_back(
      "Not every unit a large step silences stays silent: deeper layers' units can come back when the layers "
      "below them change (the \"of those, dead after recovery\" column), and the recovery epoch can kill "
      "more. "
      "Layer 1's dead units (in brackets) can never come back: their inputs are the fixed images.");
  if (killer) o.set("killing_multiplier", killer->multiplier);
  o.notes.push_back(fmt::format(
      "MLP {} with He init, plain SGD at lr {:g}, batch {}: one warm-up epoch, then one step at the given "
      "multiple of the rate on the first {} training images, then one recovery epoch at lr {:g}. A unit is "
      "dead when its pre-activation is ≤ 0 on every one of the first {} training images (all hidden layers "
      "counted; layer 1's dead units can never come back, deeper ones could if the layers below change). "
      "{} training images, {} test images.",
      fmt::format("{}", fmt::join(s.sizes, "-")), s.lr, s.batch, s.batch, s.lr, measure.size(),
      data.train.size(), data.test.size()));
  plot::LineChart dead =
      chart("Dead ReLU units after one large step", "the step's learning rate ÷ the normal rate (log scale)",
            "hidden units dead (%)");
  dead.x_scale = plot::Scale::Log10;
  dead.y_min = 0;
  dead.y_max = 100;
  std::vector<double> x, after, end;
  for (const LargeStepRun& r : runs) {
    x.push_back(r.multiplier);
    after.push_back(100 * r.dead_after_step);
    end.push_back(100 * r.dead_end);
  }
  dead.series.push_back(series("right after the step", x, after, 0));
  dead.series.push_back(series("after a recovery epoch at the normal rate", x, end, 1));
  o.charts.push_back(svg_chart("dead.svg", "dead units against the size of the one step", dead));
  return o;
}

}  // namespace bend::lab
