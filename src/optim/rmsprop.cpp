// RMSprop: PyTorch's single-tensor update as one fused, vectorisable float loop per parameter. Weight
// decay, centering and momentum are template parameters, picked once per step.
#include "bend/optim/rmsprop.hpp"
#include "bend/detail/multiversion.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/parallel.hpp"

namespace bend {
namespace {

// Scalars as PyTorch hands them to its float kernels (Python doubles rounded to float).
struct RmspropCoefficients {
  float weight_decay;     // g.add(p, alpha=weight_decay)
  float alpha;            // square_avg.mul_(alpha), grad_avg.mul_(alpha)
  float one_minus_alpha;  // value of addcmul_(g, g, value=1-alpha) and add_(g, alpha=1-alpha)
  float eps;              // avg.add_(eps)
  float momentum;         // buf.mul_(momentum)
  float negative_lr;      // p.add_(buf, alpha=-lr) or p.addcdiv_(g, avg, value=-lr)
};

// All arrays have n elements; square_avg, grad_avg and buffer are read and written, grad only read.
template <bool kWeightDecay, bool kCentered, bool kMomentum>
BEND_MULTIVERSION void rmsprop_update(float* __restrict param, const float* __restrict grad,
                                      float* __restrict square_avg, float* __restrict grad_avg,
                                      float* __restrict buffer, std::int64_t n,
                                      const RmspropCoefficients& c) {
  const RmspropCoefficients k = c;  // locals, so the compiler keeps them in registers
  for (std::int64_t i = 0; i < n; ++i) {
    const float p = param[i];
    float g = grad[i];
    if constexpr (kWeightDecay) g = g + k.weight_decay * p;
    const float v = square_avg[i] * k.alpha + k.one_minus_alpha * g * g;  // mul_(a).addcmul_(g, g, 1-a)
    square_avg[i] = v;
    float avg;
    if constexpr (kCentered) {
      const float m = grad_avg[i] * k.alpha + k.one_minus_alpha * g;  // mul_(a).add_(g, alpha=1-a)
      grad_avg[i] = m;
      avg = std::sqrt(v + -1.0f * m * m);  // addcmul(m, m, value=-1).sqrt_()
    } else {
      avg = std::sqrt(v);
    }
    avg = avg + k.eps;
    if constexpr (kMomentum) {
      const float b = buffer[i] * k.momentum + g / avg;  // mul_(momentum).addcdiv_(g, avg)
      buffer[i] = b;
      param[i] = p + k.negative_lr * b;  // add_(buf, alpha=-lr)
    } else {
      param[i] = p + k.negative_lr * g / avg;  // addcdiv_: p + value*g/avg
    }
  }
}

using RmspropKernel = void (*)(float*, const float*, float*, float*, float*, std::int64_t,
                               const RmspropCoefficients&);

template <bool kWeightDecay, bool kCentered>
RmspropKernel pick_kernel(bool momentum) {
  return momentum ? &rmsprop_update<kWeightDecay, kCentered, true>
                  : &rmsprop_update<kWeightDecay, kCentered, false>;
}

template <bool kWeightDecay>
RmspropKernel pick_kernel(bool centered, bool momentum) {
  return centered ? pick_kernel<kWeightDecay, true>(momentum) : pick_kernel<kWeightDecay, false>(momentum);
}

RmspropKernel pick_kernel(bool weight_decay, bool centered, bool momentum) {
  return weight_decay ? pick_kernel<true>(centered, momentum) : pick_kernel<false>(centered, momentum);
}

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, double lr, double alpha, double eps, double weight_decay,
                 double momentum, bool centered)
    : RMSprop(std::move(params), RmspropOptions{lr, alpha, eps, weight_decay, momentum, centered}) {}

RMSprop::RMSprop(std::vector<Tensor> params, const RmspropOptions& options)
    : OptimizerWithState(std::move(params), options.lr),
      alpha_(options.alpha),
      eps_(options.eps),
      weight_decay_(options.weight_decay),
      momentum_(options.momentum),
      centered_(options.centered) {
  validate(options);
}

void RMSprop::validate(const RmspropOptions& o) {
  check_non_negative("RMSprop", "learning rate", o.lr);
  check_non_negative("RMSprop", "epsilon", o.eps);
  check_non_negative("RMSprop", "momentum", o.momentum);
  check_non_negative("RMSprop", "weight_decay", o.weight_decay);
  check_non_negative("RMSprop", "alpha", o.alpha);
}

RmspropOptions RMSprop::options() const { return {lr_, alpha_, eps_, weight_decay_, momentum_, centered_}; }

void RMSprop::update(std::size_t i) {
  const bool use_momentum = momentum_ > 0.0;  // PyTorch: `if momentum > 0`
  const RmspropKernel kernel = pick_kernel(weight_decay_ != 0.0, centered_, use_momentum);
  const RmspropCoefficients c{static_cast<float>(weight_decay_), static_cast<float>(alpha_),
                              static_cast<float>(1.0 - alpha_),  static_cast<float>(eps_),
                              static_cast<float>(momentum_),     static_cast<float>(-lr_)};
  detail::TensorImpl& p = *params_[i].impl();
  RmspropState& s = state_[i];
  // Allocated once, on first use. A buffer switched on later by set_hyperparameters also starts at
  // zero (PyTorch would fail there; zero is what its first step would have used).
  if (!s.square_avg.defined()) {
    s.square_avg = Tensor::zeros(p.shape);
    s.step = 0;
  }
  if (use_momentum && !s.momentum_buffer.defined()) s.momentum_buffer = Tensor::zeros(p.shape);
  if (centered_ && !s.grad_avg.defined()) s.grad_avg = Tensor::zeros(p.shape);
  s.step += 1;

  float *param = p.data, *square_avg = s.square_avg.data();
  float* grad_avg = centered_ ? s.grad_avg.data() : nullptr;
  float* buffer = use_momentum ? s.momentum_buffer.data() : nullptr;
  const float* grad = detail::materialized_grad(p)->data;
  parallel_for_elements(p.numel, [&](std::int64_t begin, std::int64_t end) {
    kernel(param + begin, grad + begin, square_avg + begin, grad_avg ? grad_avg + begin : nullptr,
           buffer ? buffer + begin : nullptr, end - begin, c);
  });
}

std::vector<StateBuffer<RmspropState>> RMSprop::state_buffers() const {
  return {{"square_avg", &RmspropState::square_avg},
          {"momentum_buffer", &RmspropState::momentum_buffer, momentum_ > 0.0,
           "momentum state, but momentum is 0"},
          {"grad_avg", &RmspropState::grad_avg, centered_, "centered-RMSprop state, but centered is off"}};
}

std::map<std::string, double> RMSprop::hyperparameters() const {
  return {{"lr", lr_},
          {"alpha", alpha_},
          {"eps", eps_},
          {"weight_decay", weight_decay_},
          {"momentum", momentum_},
          {"centered", centered_ ? 1.0 : 0.0}};
}

void RMSprop::set_hyperparameters(const std::map<std::string, double>& values) {
  RmspropOptions o = options();
  for (const auto& [key, value] : values) {
    if (key == "lr")
      o.lr = value;
    else if (key == "alpha")
      o.alpha = value;
    else if (key == "eps")
      o.eps = value;
    else if (key == "weight_decay")
      o.weight_decay = value;
    else if (key == "momentum")
      o.momentum = value;
    else if (key == "centered")
      o.centered = hyperparameter_flag("RMSprop", key, value);
    else
      throw ValueError(fmt::format(
          "RMSprop: unknown hyperparameter '{}' (known: lr, alpha, eps, weight_decay, momentum, centered)",
          key));
  }
  validate(o);
  lr_ = o.lr;
  alpha_ = o.alpha;
  eps_ = o.eps;
  weight_decay_ = o.weight_decay;
  momentum_ = o.momentum;
  centered_ = o.centered;
}

}  // namespace bend
