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
    : Optimizer(std::move(params), options.lr),
      alpha_(options.alpha),
      eps_(options.eps),
      weight_decay_(options.weight_decay),
      momentum_(options.momentum),
      centered_(options.centered),
      state_(params_.size()) {
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

void RMSprop::step() {
  NoGradGuard no_grad;
  const bool use_momentum = momentum_ > 0.0;  // PyTorch: `if momentum > 0`
  const RmspropKernel kernel = pick_kernel(weight_decay_ != 0.0, centered_, use_momentum);
  const RmspropCoefficients c{static_cast<float>(weight_decay_), static_cast<float>(alpha_),
                              static_cast<float>(1.0 - alpha_),  static_cast<float>(eps_),
                              static_cast<float>(momentum_),     static_cast<float>(-lr_)};
  for (std::size_t i = 0; i < params_.size(); ++i) {
    detail::TensorImpl& p = *params_[i].impl();
    if (!p.grad) continue;  // no gradient reached this parameter: PyTorch skips it too
    if (p.grad->numel != p.numel)
      throw ShapeError(fmt::format("RMSprop: parameter {} has shape {} but its gradient has shape {}", i,
                                   p.shape.str(), p.grad->shape.str()));
    ParamState& s = state_[i];
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
}

OptimizerState RMSprop::state_tensors() const {
  OptimizerState state;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const ParamState& s = state_[i];
    if (!s.square_avg.defined()) continue;
    state.emplace_back(fmt::format("state.{}.step", i), step_tensor(s.step));
    state.emplace_back(fmt::format("state.{}.square_avg", i), copy_of(s.square_avg));
    if (momentum_ > 0.0 && s.momentum_buffer.defined())
      state.emplace_back(fmt::format("state.{}.momentum_buffer", i), copy_of(s.momentum_buffer));
    if (centered_ && s.grad_avg.defined())
      state.emplace_back(fmt::format("state.{}.grad_avg", i), copy_of(s.grad_avg));
  }
  return state;
}

void RMSprop::load_state(const OptimizerState& state) {
  // Check everything first, so a bad checkpoint leaves the optimizer as it was.
  struct Incoming {
    const Tensor *square_avg = nullptr, *momentum_buffer = nullptr, *grad_avg = nullptr;
    std::int64_t step = -1;
    bool any() const { return square_avg || momentum_buffer || grad_avg || step >= 0; }
  };
  std::vector<Incoming> incoming(params_.size());
  for (const auto& [name, tensor] : state) {
    const auto [index, key] = parse_state_name(name);
    Incoming& in = incoming[index];
    const auto duplicate = [&] {
      return ValueError(fmt::format("RMSprop: state entry '{}' appears twice", name));
    };
    if (key == "step") {
      if (in.step >= 0) throw duplicate();
      in.step = step_from_tensor(name, tensor);
      continue;
    }
    const Tensor** slot = nullptr;
    if (key == "square_avg") {
      slot = &in.square_avg;
    } else if (key == "momentum_buffer") {
      if (!(momentum_ > 0.0))
        throw ValueError(fmt::format("RMSprop: state entry '{}' is momentum state, but momentum is 0", name));
      slot = &in.momentum_buffer;
    } else if (key == "grad_avg") {
      if (!centered_)
        throw ValueError(
            fmt::format("RMSprop: state entry '{}' is centered-RMSprop state, but centered is off", name));
      slot = &in.grad_avg;
    } else {
      throw ValueError(fmt::format(
          "RMSprop: unknown state entry '{}' (known keys: step, square_avg, momentum_buffer, grad_avg)",
          name));
    }
    if (*slot) throw duplicate();
    check_state_shape(name, tensor, index);
    *slot = &tensor;
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Incoming& in = incoming[i];
    if (!in.any()) continue;
    const auto missing = [&](std::string_view key) {
      return ValueError(fmt::format("RMSprop: state for parameter {} has no 'state.{}.{}'", i, i, key));
    };
    if (in.step < 0) throw missing("step");
    if (!in.square_avg) throw missing("square_avg");
    if (momentum_ > 0.0 && !in.momentum_buffer) throw missing("momentum_buffer");
    if (centered_ && !in.grad_avg) throw missing("grad_avg");
  }

  const auto restore = [](Tensor& into, const Tensor* from) {
    if (!from) {
      into = Tensor();
      return;
    }
    if (!into.defined()) into = Tensor::empty(from->shape());
    into.copy_from(*from);
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Incoming& in = incoming[i];
    ParamState& s = state_[i];
    if (!in.any()) {
      s = ParamState{};
      continue;
    }
    s.step = in.step;
    restore(s.square_avg, in.square_avg);
    restore(s.momentum_buffer, in.momentum_buffer);
    restore(s.grad_avg, in.grad_avg);
  }
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
