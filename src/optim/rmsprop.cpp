// RMSprop: PyTorch's single-tensor update as one fused, vectorisable float loop per parameter (in
// double, rounded to float, for blocks with tiny values: tiny_values.hpp). Weight
// decay, centering and momentum are template parameters, picked once per step.
#include "bend/optim/rmsprop.hpp"
#include "bend/detail/multiversion.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/parallel.hpp"
#include "tiny_values.hpp"

namespace bend::optim {
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

// Elements [begin, end) of one parameter, begin on a block boundary; arithmetic: one entry per block
// (float, or double rounded to float where values are tiny: tiny_values.hpp). square_avg, grad_avg and
// buffer are read and written, grad only read.
template <bool kWeightDecay, bool kCentered, bool kMomentum>
BEND_MULTIVERSION void rmsprop_update(float* __restrict param, const float* __restrict grad,
                                      float* __restrict square_avg, float* __restrict grad_avg,
                                      float* __restrict buffer, std::int64_t begin, std::int64_t end,
                                      std::uint8_t* arithmetic, const RmspropCoefficients& c) {
  using optim_detail::tiny_below, optim_detail::tiny_bit;
  const RmspropCoefficients k = c;  // locals, so the compiler keeps them in registers
  // g and grad_avg are squared and scaled by 1 - alpha; g is also scaled by the step.
  const std::uint32_t tiny_squared = std::max(optim_detail::tiny_below_squared(k.one_minus_alpha),
                                              tiny_below({k.one_minus_alpha, k.negative_lr}));
  const std::uint32_t tiny_square_avg = tiny_below({k.alpha});
  const std::uint32_t tiny_buffer = tiny_below({k.momentum, k.negative_lr});
  const std::uint32_t tiny_param = tiny_below({kWeightDecay ? k.weight_decay : 0.0f});
  optim_detail::for_each_element_one_chain(begin, end, arithmetic, [&](const auto rounded, std::int64_t i) {
    using Real = typename decltype(rounded)::Real;
    const Real p = param[i];
    std::uint32_t tiny = 0;
    Real g = optim_detail::decayed_gradient<kWeightDecay>(rounded, p, grad[i], k.weight_decay, tiny_squared,
                                                          tiny_param, tiny);
    // mul_(a).addcmul_(g, g, 1-a)
    const Real v =
        rounded(rounded(square_avg[i] * Real{k.alpha}) + rounded(rounded(Real{k.one_minus_alpha} * g) * g));
    square_avg[i] = static_cast<float>(v);
    tiny |= tiny_bit(v, tiny_square_avg);
    Real avg;
    if constexpr (kCentered) {
      const Real m = rounded(rounded(grad_avg[i] * Real{k.alpha}) +
                             rounded(Real{k.one_minus_alpha} * g));  // mul_(a).add_(g, alpha=1-a)
      grad_avg[i] = static_cast<float>(m);
      tiny |= tiny_bit(m, tiny_squared);
      avg = rounded(
          std::sqrt(rounded(v + rounded(rounded(Real{-1.0f} * m) * m))));  // addcmul(m, m, value=-1).sqrt_()
    } else {
      avg = rounded(std::sqrt(v));
    }
    avg = rounded(avg + Real{k.eps});
    if constexpr (kMomentum) {
      const Real buf = rounded(rounded(buffer[i] * Real{k.momentum}) +
                               rounded(g / avg));  // mul_(momentum).addcdiv_(g, avg)
      buffer[i] = static_cast<float>(buf);
      tiny |= tiny_bit(buf, tiny_buffer);
      param[i] = static_cast<float>(rounded(p + rounded(Real{k.negative_lr} * buf)));  // add_(buf, alpha=-lr)
    } else {
      param[i] = static_cast<float>(
          rounded(p + rounded(rounded(Real{k.negative_lr} * g) / avg)));  // addcdiv_: p + value*g/avg
    }
    return tiny;
  });
}

using RmspropKernel = void (*)(float*, const float*, float*, float*, float*, std::int64_t, std::int64_t,
                               std::uint8_t*, const RmspropCoefficients&);

template <bool kWeightDecay, bool kCentered>
RmspropKernel pick_rmsprop_kernel(bool momentum) {
  return momentum ? &rmsprop_update<kWeightDecay, kCentered, true>
                  : &rmsprop_update<kWeightDecay, kCentered, false>;
}

template <bool kWeightDecay>
RmspropKernel pick_rmsprop_kernel(bool centered, bool momentum) {
  return centered ? pick_rmsprop_kernel<kWeightDecay, true>(momentum)
                  : pick_rmsprop_kernel<kWeightDecay, false>(momentum);
}

RmspropKernel pick_rmsprop_kernel(bool weight_decay, bool centered, bool momentum) {
  return weight_decay ? pick_rmsprop_kernel<true>(centered, momentum)
                      : pick_rmsprop_kernel<false>(centered, momentum);
}

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, double lr, double alpha, double eps, double weight_decay,
                 double momentum, bool centered)
    : RMSprop(std::move(params), RmspropOptions{lr, alpha, eps, weight_decay, momentum, centered}) {}

RMSprop::RMSprop(std::vector<Tensor> params, const RmspropOptions& options)
    : OptimizerWithState(std::move(params), options) {
  check(options);
}

const OptionTable<RmspropOptions>& RMSprop::table() {
  static const OptionTable<RmspropOptions> table{
      {
          option<&RmspropOptions::lr>("lr", "learning rate"),
          option<&RmspropOptions::alpha>("alpha", "decay of the running mean of squared gradients"),
          option<&RmspropOptions::eps>("eps", "added to the root mean square, for stability"),
          option<&RmspropOptions::weight_decay>("weight_decay",
                                                "L2 penalty: adds weight_decay*p to the gradient"),
          option<&RmspropOptions::momentum>("momentum", "momentum factor (0: none)"),
          option<&RmspropOptions::centered>("centered",
                                            "divide by the gradient's estimated standard deviation instead"),
      },
      RmspropOptions{}};
  return table;
}

void RMSprop::update(std::size_t i) {
  const RmspropOptions& o = options_;
  const bool use_momentum = o.momentum > 0.0;  // PyTorch: `if momentum > 0`
  const RmspropKernel kernel = pick_rmsprop_kernel(o.weight_decay != 0.0, o.centered, use_momentum);
  const RmspropCoefficients c{static_cast<float>(o.weight_decay), static_cast<float>(o.alpha),
                              static_cast<float>(1.0 - o.alpha),  static_cast<float>(o.eps),
                              static_cast<float>(o.momentum),     static_cast<float>(-lr_)};
  detail::TensorImpl& p = *params_[i].impl();
  RmspropState& s = state_[i];
  // Allocated once, on first use. A buffer switched on later by set_hyperparameters also starts at
  // zero (PyTorch would fail there; zero is what its first step would have used).
  if (!s.square_avg.defined()) {
    s.square_avg = Tensor::zeros(p.shape);
    s.step = 0;
  }
  if (use_momentum && !s.momentum_buffer.defined()) s.momentum_buffer = Tensor::zeros(p.shape);
  if (o.centered && !s.grad_avg.defined()) s.grad_avg = Tensor::zeros(p.shape);
  s.step += 1;

  float *param = p.data, *square_avg = s.square_avg.data();
  float* grad_avg = o.centered ? s.grad_avg.data() : nullptr;
  float* buffer = use_momentum ? s.momentum_buffer.data() : nullptr;
  const float* grad = detail::materialized_grad(p)->data;
  optim_detail::update_in_blocks(
      p.numel, s.block_arithmetic, [&](std::int64_t begin, std::int64_t end, std::uint8_t* arithmetic) {
        kernel(param, grad, square_avg, grad_avg, buffer, begin, end, arithmetic, c);
      });
}

std::vector<StateBuffer<RmspropState>> RMSprop::state_buffers() const {
  return {{"square_avg", &RmspropState::square_avg},
          {"momentum_buffer", &RmspropState::momentum_buffer, options_.momentum > 0.0,
           "momentum state, but momentum is 0"},
          {"grad_avg", &RmspropState::grad_avg, options_.centered,
           "centered-RMSprop state, but centered is off"}};
}

}  // namespace bend::optim
