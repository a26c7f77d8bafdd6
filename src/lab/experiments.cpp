// The experiments of `bend lab` and the activation curves of `bend plot activations`
// (see bend/lab/experiments.hpp).
#include "bend/lab/experiments.hpp"

#include <fmt/format.h>
#include <chrono>
#include <cmath>
#include <memory>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/lab/xor.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/sgd.hpp"
#include "bend/train/metrics.hpp"

namespace bend::lab {

train::TrainConfig TrainSettings::config() const {
  train::TrainConfig c;
  c.dataset.clear();  // the experiment gives the data
  c.optimizer = optimizer;
  c.optimizer_options["lr"] = lr;
  if (momentum != 0.0) c.optimizer_options["momentum"] = momentum;
  c.schedule = "none";  // the lab's claims are about a constant rate
  c.batch = batch;
  c.epochs = epochs;
  c.seed = seed;
  c.threads = threads;
  return c;
}

TrainOutcome fit(nn::Module& model, const TensorDataset& train, const TensorDataset& test,
                 const TrainSettings& settings,
                 const std::function<void(const train::EpochMetrics&)>& on_epoch) {
  // The experiment owns the model; the Trainer borrows it.
  std::shared_ptr<nn::Module> borrowed(&model, [](nn::Module*) {});
  train::Trainer trainer(settings.config(), train::ModelSource::of(borrowed), train, test);
  struct Recorder : train::TrainObserver {
    TrainOutcome* out;
    const std::function<void(const train::EpochMetrics&)>* then;
    void on_epoch(const train::EpochMetrics& m) override {
      out->train_loss.push_back(m.train_loss);
      out->test_accuracy.push_back(m.test_accuracy);
      if (*then) (*then)(m);
    }
  } recorder;
  recorder.then = &on_epoch;
  TrainOutcome out;
  recorder.out = &out;
  const auto start = std::chrono::steady_clock::now();
  try {
    trainer.run(&recorder);
  } catch (const train::TrainingDiverged&) {
    out.diverged = true;
    out.train_loss.push_back(std::nan(""));
    out.test_accuracy.push_back(std::nan(""));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

CollapseCheck collapse_linear_stack(nn::Sequential& stack, const Tensor& inputs) {
  NoGradGuard no_grad;
  CollapseCheck c;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    auto* l = stack.get_if<nn::Linear>(i);
    if (!l)
      throw ValueError(
          fmt::format("collapse: module {} is a {}, not a Linear; only a pure Linear stack collapses", i,
                      stack[i].type_name()));
    const Tensor bias = l->bias.defined() ? l->bias : Tensor::zeros({l->out_features()});
    if (!c.product_weight.defined()) {
      c.product_weight = l->weight.clone();
      c.product_bias = bias.clone();
    } else {
      c.product_weight = matmul(l->weight, c.product_weight);  // W_k · (W_{k-1} ... W_1)
      c.product_bias = matmul(l->weight, c.product_bias.reshape({c.product_bias.numel(), 1}))
                           .reshape({l->out_features()}) +
                       bias;
    }
  }
  if (!c.product_weight.defined()) throw ValueError("collapse: the model has no layers");
  const Tensor stacked = stack.forward(inputs);
  const Tensor single = linear(inputs, c.product_weight, c.product_bias);
  for (std::int64_t i = 0; i < stacked.numel(); ++i) {
    c.max_abs_difference =
        std::max(c.max_abs_difference, static_cast<double>(std::fabs(stacked.data()[i] - single.data()[i])));
    c.max_abs_output = std::max(c.max_abs_output, static_cast<double>(std::fabs(stacked.data()[i])));
  }
  return c;
}

XorResult train_xor(std::string_view act, std::int64_t hidden, std::int64_t steps, double lr,
                    std::uint64_t seed) {
  Rng rng(seed);
  auto net = std::make_shared<nn::Sequential>(nn::build_model(
      nn::ModelSpec::mlp({2, hidden, 2}, act.empty() ? "none" : act), nn::init::Scheme::Auto, rng));
  // Small random biases so that ReLU units do not all share the kink at the origin.
  for (std::size_t i = 0; i < net->size(); ++i)
    if (auto* l = net->get_if<nn::Linear>(i)) nn::init::uniform_(l->bias, -0.1f, 0.1f, rng);
  // The four XOR points as a two-class dataset; one epoch is one full-batch step.
  TensorDataset points;
  points.images = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  points.labels = {0, 1, 1, 0};
  points.rows = 1;
  points.cols = 2;
  points.num_classes = 2;
  points.name = "xor";
  train::TrainConfig config;
  config.dataset.clear();
  config.optimizer = "adam";
  config.optimizer_options["lr"] = lr;
  config.schedule = "none";
  config.batch = 4;
  config.epochs = steps;
  config.shuffle = false;
  config.seed = seed;
  config.threads = 1;
  struct Curve : train::TrainObserver {
    XorResult* r;
    void on_epoch(const train::EpochMetrics& m) override {
      if ((m.epoch - 1) % kXorCurveStride == 0) r->loss_curve.push_back(m.train_loss);
    }
  } curve;
  XorResult r;
  curve.r = &r;
  r.activation = std::string(act);
  train::Trainer trainer(config, train::ModelSource::of(net), points, points);
  trainer.run(&curve);

  const train::EvalResult e = train::evaluate(*net, points, 4, /*keep_probabilities=*/true);
  r.final_loss = e.loss;
  r.accuracy = e.accuracy;
  for (int i = 0; i < 4; ++i) r.outputs.push_back(e.probabilities[static_cast<std::size_t>(2 * i + 1)]);
  return r;
}

ActivationCurve sample_activation(const ActivationInfo& info, double lo, double hi, int points) {
  if (points < 2 || !(hi > lo))
    throw ValueError(fmt::format("sample_activation: bad range [{}, {}] x {}", lo, hi, points));
  ActivationCurve c;
  c.name = std::string(info.name);
  const auto n = static_cast<std::size_t>(points);
  std::vector<float> x(n + 1), y(n + 1), d(n + 1);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(lo + (hi - lo) * static_cast<double>(i) / (points - 1));
  x[n] = 0.0f;  // the origin, sampled exactly
  info.kernel.forward(x.data(), y.data(), static_cast<std::int64_t>(n + 1), info.defaults);
  info.kernel.derivative(x.data(), y.data(), d.data(), static_cast<std::int64_t>(n + 1), info.defaults);
  c.value_at_zero = y[n];
  c.derivative_at_zero = d[n];
  c.min_value = c.max_derivative = c.min_derivative = std::nan("");
  for (std::size_t i = 0; i < n; ++i) {
    c.x.push_back(x[i]);
    c.value.push_back(y[i]);
    c.derivative.push_back(d[i]);
    if (i == 0 || y[i] < c.min_value) {
      c.min_value = y[i];
      c.argmin_value = x[i];
    }
    if (i == 0 || d[i] > c.max_derivative) {
      c.max_derivative = d[i];
      c.argmax_derivative = x[i];
    }
    if (i == 0 || d[i] < c.min_derivative) c.min_derivative = d[i];
  }
  c.derivative_at_lo = d[0];
  c.derivative_at_hi = d[n - 1];
  return c;
}

}  // namespace bend::lab
