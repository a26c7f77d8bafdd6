// bend lab dying-relu (see bend/lab/dying_relu.hpp) and its claim (bend/lab/claims.hpp).
#include "bend/lab/dying_relu.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/ops.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

namespace {

// Indices of the Linear layers followed by an activation.
std::vector<std::size_t> hidden_linears(const nn::Sequential& net) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i + 1 < net.size(); ++i)
    if (net.get_if<nn::Linear>(i) && !net.get_if<nn::Linear>(i + 1)) out.push_back(i);
  return out;
}

}  // namespace

double silent_fraction(nn::Sequential& net, const Tensor& images, std::vector<double>* per_layer) {
  NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  const std::vector<std::size_t> hidden = hidden_linears(net);
  std::int64_t silent = 0, units = 0;
  if (per_layer) per_layer->clear();
  Tensor x = images;
  for (std::size_t i = 0; i < net.size(); ++i) {
    x = net[i].forward(x);
    if (std::find(hidden.begin(), hidden.end(), i) == hidden.end()) continue;
    // x: [N, units] pre-activations; a unit is silent when no row is > 0.
    const std::int64_t n = x.shape()[0], u = x.shape()[1];
    std::vector<char> alive(static_cast<std::size_t>(u), 0);
    const float* p = x.data();
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t k = 0; k < u; ++k) alive[static_cast<std::size_t>(k)] |= p[r * u + k] > 0.0f;
    const auto off = static_cast<std::int64_t>(std::count(alive.begin(), alive.end(), 0));
    silent += off;
    units += u;
    if (per_layer) per_layer->push_back(static_cast<double>(off) / static_cast<double>(u));
  }
  net.train(was_training);
  return units ? static_cast<double>(silent) / static_cast<double>(units) : 0.0;
}

DyingReluRun run_dying_relu(const std::vector<std::int64_t>& sizes, const std::string& act,
                            double kill_fraction, float kill_bias, const TrainSettings& settings,
                            const TensorDataset& train, const TensorDataset& test,
                            const TensorDataset& measure) {
  Rng rng(settings.seed);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, act), nn::init::Scheme::He, rng);
  DyingReluRun run;
  run.act = act;
  run.killed = kill_fraction > 0;
  // The kill event, in the first hidden layer (its inputs are the images, so a dead ReLU there can never
  // come back): the same units for every activation (their own generator).
  const std::vector<std::size_t> hidden = hidden_linears(net);
  if (hidden.empty()) throw ValueError("dying-relu: the net needs a hidden layer");
  auto* first = net.get_if<nn::Linear>(hidden.front());
  std::vector<std::int64_t> killed(static_cast<std::size_t>(first->out_features()));
  std::iota(killed.begin(), killed.end(), 0);
  Rng pick(settings.seed + 7919);
  for (std::size_t k = killed.size(); k > 1; --k) std::swap(killed[k - 1], killed[pick.below(k)]);
  killed.resize(static_cast<std::size_t>(std::llround(kill_fraction * static_cast<double>(killed.size()))));
  for (std::int64_t u : killed) first->bias.data()[u] = kill_bias;
  auto census = [&] {
    std::vector<double> layers;
    silent_fraction(net, measure.images, &layers);
    run.silent.push_back(layers.front());
    run.silent_layers.push_back(std::move(layers));
  };
  census();
  if (run.killed) {
    // The gradient that reaches the killed units' biases.
    net.zero_grad();
    {
      Tensor loss = cross_entropy(net.forward(measure.images), measure.labels);
      loss.backward();
    }
    double sum = 0;
    const Tensor g = first->bias.grad();
    for (std::int64_t u : killed) sum += g.defined() ? std::fabs(g.data()[u]) : 0.0;
    net.zero_grad();
    run.killed_bias_grad = killed.empty() ? 0.0 : sum / static_cast<double>(killed.size());
  }
  const TrainOutcome o = fit(net, train, test, settings, [&](const train::EpochMetrics&) { census(); });
  run.accuracy = o.test_accuracy;
  run.diverged = o.diverged;
  return run;
}

ClaimOutcome dying_relu_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const DyingReluSettings& s = all.dying_relu;
  const LabData data = limit_data(*mnist, s.data);
  const TensorDataset measure = subset(data.train, 0, std::min(s.measure, data.train.size()));
  TrainSettings train = s.train;
  train.seed = all.seed;

  const DyingReluRun healthy =
      run_dying_relu(s.sizes, "relu", 0.0, 0.0f, train, data.train, data.test, measure);
  std::vector<DyingReluRun> runs;
  for (const std::string& act : s.acts)
    runs.push_back(
        run_dying_relu(s.sizes, act, s.kill_fraction, s.kill_bias, train, data.train, data.test, measure));

  ClaimOutcome o;
  o.set("healthy_accuracy", healthy.final_accuracy());
  const DyingReluRun* relu = nullptr;
  for (const DyingReluRun& r : runs)
    if (r.act == "relu") relu = &r;
  const double relu_accuracy = relu ? relu->final_accuracy() : 0.0;
  const double lost = healthy.final_accuracy() - relu_accuracy;  // what the kill cost ReLU
  bool relu_dead = false, remedies = true;
  std::string relu_text, remedy_text;
  int remedy_count = 0;
  for (const DyingReluRun& r : runs) {
    const double start = r.silent.front(), end = r.silent.back();
    const double lowest = *std::min_element(r.silent.begin(), r.silent.end());
    o.set(r.act + "_silent_after_kill", start);
    o.set(r.act + "_silent_end", end);
    o.set(r.act + "_silent_lowest", lowest);
    o.set(r.act + "_killed_bias_grad", r.killed_bias_grad);
    o.set(r.act + "_accuracy", r.final_accuracy());
    if (r.act == "relu") {
      relu_dead = !r.diverged && start >= kKillWorked * s.kill_fraction && lowest >= kStayDead * start &&
                  r.killed_bias_grad == 0.0 && lost * 100 >= kAccuracyLostPoints;
      relu_text = fmt::format(
          "relu: {} silent after the kill, never fewer than {} over {} epochs, gradient into killed units "
          "{:.1e}, accuracy {}",
          pct(start), pct(lowest), r.accuracy.size(), r.killed_bias_grad, pct(r.final_accuracy()));
    } else {
      ++remedy_count;
      const bool ok = !r.diverged && r.killed_bias_grad > 0 && end <= kRecovered * start &&
                      r.final_accuracy() >= relu_accuracy + kAccuracyReturned * lost;
      remedies = remedies && ok;
      remedy_text +=
          fmt::format("{}{}: {} → {} silent, gradient {:.1e}, accuracy {}", remedy_text.empty() ? "" : "; ",
                      r.act, pct(start), pct(end), r.killed_bias_grad, pct(r.final_accuracy()));
    }
  }
  o.measured = fmt::format("healthy relu {}; {}; {}", pct(healthy.final_accuracy()), relu_text, remedy_text);
  o.threshold = fmt::format(
      "ReLU: ≥ {:g}% of the targeted units silent after the kill, never fewer later, exactly zero gradient "
      "into them, and accuracy ≥ {:g} points below the healthy ReLU net; every other activation: non-zero "
      "gradient into the killed units, ≤ {:g}% of the silent units still silent at the end, and at least "
      "{:g}% of the accuracy the kill cost ReLU won back",
      100 * kKillWorked, kAccuracyLostPoints, 100 * kRecovered, 100 * kAccuracyReturned);
  o.reproduced = relu != nullptr && relu_dead && remedies && remedy_count > 0;
  o.notes.push_back(fmt::format(
      "MLP {} with He init; the kill event sets the bias of {:.0f}% of the units of the first hidden layer "
      "to {:g} (the same units for every activation). Then {} epoch(s) of {} at lr {:g}, batch {}, on {} "
      "MNIST "
      "images; test accuracy on {}. A unit is silent when its pre-activation is ≤ 0 on every one of the "
      "first {} training images: for ReLU that is a dead unit (derivative 0 on every input), for the "
      "others a unit that still gets a gradient.",
      fmt::format("{}", fmt::join(s.sizes, "-")), 100 * s.kill_fraction, s.kill_bias, train.epochs,
      train.optimizer, train.lr, train.batch, data.train.size(), data.test.size(), measure.size()));
  o.header = {"activation",
              "silent after kill",
              "silent per epoch",
              "every hidden layer at the end",
              "gradient into killed units",
              "test accuracy"};
  auto row = [&](const DyingReluRun& r) {
    std::vector<std::string> per_epoch, per_layer;
    for (std::size_t k = 1; k < r.silent.size(); ++k) per_epoch.push_back(pct(r.silent[k]));
    for (double f : r.silent_layers.back()) per_layer.push_back(pct(f));
    o.rows.push_back({r.killed ? r.act : r.act + " (no kill)", pct(r.silent.front()),
                      fmt::format("{}", fmt::join(per_epoch, " / ")),
                      fmt::format("{}", fmt::join(per_layer, " / ")),
                      r.killed ? fmt::format("{:.2e}", r.killed_bias_grad) : "-",
                      r.diverged ? "diverged" : pct(r.final_accuracy())});
  };
  row(healthy);
  for (const auto& r : runs) row(r);

  plot::LineChart silent =
      chart("Silent units of the first hidden layer after the kill event", "epoch (0 = right after the kill)",
            "units silent on every training image (%)");
  silent.y_min = 0;
  silent.y_max = 100;
  plot::LineChart accuracy = chart("Test accuracy after the kill event", "epoch", "test accuracy (%)");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::vector<double> epochs;
    for (std::size_t k = 0; k < runs[i].silent.size(); ++k) epochs.push_back(static_cast<double>(k));
    silent.series.push_back(series(runs[i].act, epochs, percent(runs[i].silent), i));
    accuracy.series.push_back(
        series(runs[i].act, one_to(runs[i].accuracy.size()), percent(runs[i].accuracy), i));
  }
  plot::Series ref = series("relu, no kill (healthy)", one_to(healthy.accuracy.size()),
                            percent(healthy.accuracy), runs.size(), false);
  ref.dashed = true;
  accuracy.series.push_back(std::move(ref));
  o.charts.push_back(svg_chart("silent.svg", "silent units of the first hidden layer per epoch", silent));
  o.charts.push_back(svg_chart("accuracy.svg", "test accuracy per epoch", accuracy));
  return o;
}

}  // namespace bend::lab
