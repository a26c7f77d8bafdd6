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
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/sgd.hpp"
#include "bend/train/metrics.hpp"

namespace bend::lab {

nn::Sequential make_mlp(const std::vector<std::int64_t>& sizes, std::string_view act, nn::init::Scheme scheme,
                        Rng& rng, float hidden_bias_shift) {
  if (sizes.size() < 2)
    throw ValueError(fmt::format("make_mlp: need at least 2 sizes, got {}", sizes.size()));
  const ActivationInfo* info = act.empty() ? nullptr : &activation(act);
  nn::Sequential net;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const bool hidden = i + 2 < sizes.size();
    nn::Linear layer(sizes[i], sizes[i + 1], true, rng);
    nn::init::init_linear(layer, scheme, hidden ? info : nullptr, rng);
    if (hidden && hidden_bias_shift != 0.0f)
      for (float& b : layer.bias.span()) b += hidden_bias_shift;
    net.push_back(std::move(layer));
    if (hidden && info) {
      if (info->learnable)
        net.push_back(nn::PReLU());
      else
        net.push_back(nn::Activation(info->name));
    }
  }
  return net;
}

TrainOutcome train_model(nn::Sequential& model, const TensorDataset& train, const TensorDataset& test,
                         const TrainSettings& s) {
  std::unique_ptr<Optimizer> opt;
  if (s.optimizer == "sgd")
    opt = std::make_unique<SGD>(model.parameters(), s.lr, s.momentum);
  else if (s.optimizer == "adam")
    opt = std::make_unique<Adam>(model.parameters(), s.lr);
  else
    throw ValueError(fmt::format("train_model: optimizer '{}' is not sgd or adam", s.optimizer));
  Rng rng(s.seed);
  DataLoader loader(train, s.batch, true, rng);
  TrainOutcome out;
  const auto start = std::chrono::steady_clock::now();
  model.train();
  for (std::int64_t epoch = 0; epoch < s.epochs && !out.diverged; ++epoch) {
    loader.start_epoch();
    Batch batch;
    double sum = 0;
    std::int64_t seen = 0;
    while (loader.next(batch)) {
      opt->zero_grad();
      Tensor loss = cross_entropy(model(batch.images), batch.labels);
      const float value = loss.item();
      if (!std::isfinite(value)) {
        tape().clear();
        out.diverged = true;
        break;
      }
      loss.backward();
      opt->step();
      sum += static_cast<double>(value) * static_cast<double>(batch.size);
      seen += batch.size;
    }
    out.train_loss.push_back(seen ? sum / static_cast<double>(seen) : std::nan(""));
    out.test_accuracy.push_back(out.diverged ? std::nan("") : train::evaluate(model, test).accuracy);
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
  nn::Sequential net = make_mlp({2, hidden, 1}, act, nn::init::Scheme::Auto, rng);
  // Small random biases so that ReLU units do not all share the kink at the origin.
  for (std::size_t i = 0; i < net.size(); ++i)
    if (auto* l = net.get_if<nn::Linear>(i)) nn::init::uniform_(l->bias, -0.1f, 0.1f, rng);
  const Tensor x = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = Tensor::from({0, 1, 1, 0}, {4, 1});
  Adam opt(net.parameters(), lr);
  XorResult r;
  r.activation = std::string(act);
  for (std::int64_t step = 0; step < steps; ++step) {
    opt.zero_grad();
    Tensor loss = mse_loss(net(x), y);
    if (step % kXorCurveStride == 0) r.mse_curve.push_back(loss.item());
    loss.backward();
    opt.step();
  }
  NoGradGuard no_grad;
  const Tensor out = net(x);
  r.final_mse = mse_loss(out, y).item();
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    r.outputs.push_back(out.data()[i]);
    correct += (out.data()[i] > 0.5f) == (y.data()[i] > 0.5f);
  }
  r.accuracy = correct / 4.0;
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
