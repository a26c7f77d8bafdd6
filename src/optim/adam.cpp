// Adam and AdamW: PyTorch's single-tensor update as one fused, vectorisable float loop per parameter
// (in double for blocks with tiny values, with float's results: tiny_values.hpp).
// Weight-decay kind and AMSGrad are template parameters, picked once per parameter; the scalar
// coefficients (bias corrections, step size) are computed in double per parameter, as PyTorch does.
#include "bend/optim/adam.hpp"
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
struct AdamCoefficients {
  float decay_factor;  // AdamW: p.mul_(1 - lr*weight_decay)
  float weight_decay;  // Adam: g.add(p, alpha=weight_decay)
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float bias_correction2_sqrt;
  float eps;
  float negative_step_size;  // value of p.addcdiv_(m, denom, value=-lr/bias_correction1)
};

// Bits of the magnitudes below which a value may make one of the update's float operations denormal.
struct AdamTinyLimits {
  std::uint32_t gradient, first_moment, second_moment, param;
};

AdamTinyLimits tiny_limits(const AdamCoefficients& k, bool l2, bool decoupled) {
  using optim_detail::tiny_below;
  // g is scaled by 1 - beta1, and squared and scaled by 1 - beta2.
  const std::uint32_t squared = optim_detail::tiny_below_squared(k.one_minus_beta2);
  return {std::max(tiny_below({k.one_minus_beta1}), squared), tiny_below({k.beta1, k.negative_step_size}),
          tiny_below({k.beta2}), tiny_below({decoupled ? k.decay_factor : 0.0f, l2 ? k.weight_decay : 0.0f})};
}

// One block of the update, in three chains of operations that each take float or double arithmetic
// (tiny_values.hpp): the first moment's (p, g, m and the step value * m), the second moment's (v and
// the denominator) and the quotient's (step / denom added to p). A first moment stuck at a denormal
// (its gradient is zero) is the common case; its step then rounds to zero, and the other two chains
// keep float's width and divider. Arrays are indexed from the block's start; step and denom are
// scratch. Returns the arithmetic for the block's next update.
template <bool kL2, bool kDecoupled, bool kAmsgrad, class FirstMoment, class SecondMoment>
inline optim_detail::BlockArithmetic adam_block(FirstMoment rounded_m, SecondMoment rounded_v,
                                                float* __restrict param, const float* __restrict grad,
                                                float* __restrict exp_avg, float* __restrict exp_avg_sq,
                                                float* __restrict max_exp_avg_sq, std::int64_t n,
                                                const AdamCoefficients& k, const AdamTinyLimits& tiny,
                                                float* __restrict step, float* __restrict denom) {
  using optim_detail::tiny_bit;
  using RealM = typename FirstMoment::Real;
  using RealV = typename SecondMoment::Real;
  std::uint32_t tiny_first = 0, tiny_second = 0;  // seen in this update's values: the next one's choice
  for (std::int64_t i = 0; i < n; ++i) {
    RealM p = param[i];
    if constexpr (kDecoupled) p = rounded_m(p * RealM{k.decay_factor});
    if constexpr (kDecoupled) param[i] = static_cast<float>(p);
    RealM g = grad[i];
    if constexpr (kL2) g = rounded_m(g + rounded_m(RealM{k.weight_decay} * p));
    const RealV g_v = static_cast<RealV>(g);  // exact: g holds a float value
    // mul_(b1).add_(g, alpha=1-b1)
    const RealM m =
        rounded_m(rounded_m(exp_avg[i] * RealM{k.beta1}) + rounded_m(RealM{k.one_minus_beta1} * g));
    // mul_(b2).addcmul_(g, g, value=1-b2)
    const RealV v = rounded_v(rounded_v(exp_avg_sq[i] * RealV{k.beta2}) +
                              rounded_v(rounded_v(RealV{k.one_minus_beta2} * g_v) * g_v));
    exp_avg[i] = static_cast<float>(m);
    exp_avg_sq[i] = static_cast<float>(v);
    RealV v_used = v;
    if constexpr (kAmsgrad) {
      v_used = std::max(RealV{max_exp_avg_sq[i]}, v);
      max_exp_avg_sq[i] = static_cast<float>(v_used);
    }
    denom[i] = static_cast<float>(
        rounded_v(rounded_v(rounded_v(std::sqrt(v_used)) / RealV{k.bias_correction2_sqrt}) + RealV{k.eps}));
    step[i] = static_cast<float>(rounded_m(RealM{k.negative_step_size} * m));
    tiny_first |= tiny_bit(m, tiny.first_moment) | tiny_bit(p, tiny.param);
    tiny_second |= tiny_bit(g, tiny.gradient) | tiny_bit(v, tiny.second_moment);
  }
  return tiny_second  ? optim_detail::kAllDouble
         : tiny_first ? optim_detail::kFirstChainDouble
                      : optim_detail::kAllFloat;
}

// addcdiv_: p + value*m/denom, with step = value*m.
template <class Quotient>
inline void adam_apply(Quotient rounded, float* __restrict param, const float* __restrict step,
                       const float* __restrict denom, std::int64_t n) {
  using Real = typename Quotient::Real;
  for (std::int64_t i = 0; i < n; ++i)
    param[i] = static_cast<float>(rounded(param[i] + rounded(Real{step[i]} / denom[i])));
}

// Elements [begin, end) of one parameter, begin on a block boundary; arithmetic: one entry per block.
template <bool kL2, bool kDecoupled, bool kAmsgrad>
BEND_MULTIVERSION void adam_update(float* __restrict param, const float* __restrict grad,
                                   float* __restrict exp_avg, float* __restrict exp_avg_sq,
                                   float* __restrict max_exp_avg_sq, std::int64_t begin, std::int64_t end,
                                   std::uint8_t* arithmetic, const AdamCoefficients& c) {
  namespace od = optim_detail;
  const AdamCoefficients k = c;  // locals, so the compiler keeps them in registers
  const AdamTinyLimits tiny = tiny_limits(k, kL2, kDecoupled);
  const od::DoubleRoundedToFloat in_double = od::double_rounded_to_float();
  const od::FloatArithmetic in_float;
  alignas(64) float step[od::kUpdateBlock], denom[od::kUpdateBlock];
  od::for_each_block(begin, end, arithmetic, [&](std::int64_t b, std::int64_t e, od::BlockArithmetic last) {
    float* max_sq = max_exp_avg_sq ? max_exp_avg_sq + b : nullptr;
    const auto block = [&](auto first_moment, auto second_moment) {
      return adam_block<kL2, kDecoupled, kAmsgrad>(first_moment, second_moment, param + b, grad + b,
                                                   exp_avg + b, exp_avg_sq + b, max_sq, e - b, k, tiny, step,
                                                   denom);
    };
    od::BlockArithmetic next;
    if (last == od::kAllFloat) {
      next = block(in_float, in_float);
      adam_apply(in_float, param + b, step, denom, e - b);
      return next;
    }
    next = last == od::kAllDouble ? block(in_double, in_double) : block(in_double, in_float);
    // A tiny step over a normal denominator, or a huge denominator, gives a denormal quotient.
    if (od::quotients_normal(step, denom, e - b))
      adam_apply(in_float, param + b, step, denom, e - b);
    else
      adam_apply(in_double, param + b, step, denom, e - b);
    return next;
  });
}

using AdamKernel = void (*)(float*, const float*, float*, float*, float*, std::int64_t, std::int64_t,
                            std::uint8_t*, const AdamCoefficients&);

template <bool kL2, bool kDecoupled>
AdamKernel pick_adam_kernel(bool amsgrad) {
  return amsgrad ? &adam_update<kL2, kDecoupled, true> : &adam_update<kL2, kDecoupled, false>;
}

AdamKernel pick_adam_kernel(bool l2, bool decoupled, bool amsgrad) {
  if (l2) return pick_adam_kernel<true, false>(amsgrad);
  if (decoupled) return pick_adam_kernel<false, true>(amsgrad);
  return pick_adam_kernel<false, false>(amsgrad);
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
           double weight_decay, bool amsgrad)
    : Adam(std::move(params), AdamOptions{lr, betas, eps, weight_decay, amsgrad}, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled_weight_decay)
    : OptimizerWithState(std::move(params), options), decoupled_weight_decay_(decoupled_weight_decay) {
  check(options);
}

namespace {

// Adam's and AdamW's table: the same options, with their own defaults and weight-decay help.
OptionTable<AdamOptions> adam_family_table(const AdamOptions& defaults, std::string_view weight_decay_help) {
  return {{
              option<&AdamOptions::lr>("lr", "learning rate"),
              option<&AdamOptions::betas, 0>("beta1",
                                             "decay of the running mean of gradients (PyTorch's betas[0])",
                                             OptionRange::kUnitInterval),
              option<&AdamOptions::betas, 1>(
                  "beta2", "decay of the running mean of squared gradients (PyTorch's betas[1])",
                  OptionRange::kUnitInterval),
              option<&AdamOptions::eps>("eps", "added to the denominator's square root, for stability"),
              option<&AdamOptions::weight_decay>("weight_decay", weight_decay_help),
              option<&AdamOptions::amsgrad>("amsgrad",
                                            "AMSGrad: divide by the largest second moment seen so far"),
          },
          defaults};
}

}  // namespace

const OptionTable<AdamOptions>& Adam::table() {
  static const OptionTable<AdamOptions> table =
      adam_family_table(AdamOptions{}, "L2 penalty: adds weight_decay*p to the gradient");
  return table;
}

const OptionTable<AdamOptions>& AdamW::table() {
  static const OptionTable<AdamOptions> table = [] {
    AdamOptions defaults;
    defaults.weight_decay = 1e-2;  // torch.optim.AdamW's
    return adam_family_table(defaults, "decoupled weight decay: p *= 1 - lr*weight_decay");
  }();
  return table;
}

AdamW::AdamW(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
             double weight_decay, bool amsgrad)
    : Adam(std::move(params), AdamOptions{lr, betas, eps, weight_decay, amsgrad}, true) {}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, true) {}

void Adam::update(std::size_t i) {
  const AdamOptions& o = options_;
  const double beta1 = o.betas.first, beta2 = o.betas.second;
  // (a parameter outside the decay group of set_weight_decay_mask() takes weight_decay 0)
  const double weight_decay = decay_mask_.empty() || decay_mask_[i] ? o.weight_decay : 0.0;
  const bool l2 = !decoupled_weight_decay_ && weight_decay != 0.0;
  const bool decoupled = decoupled_weight_decay_ && weight_decay != 0.0;  // p *= 1 is a no-op
  const AdamKernel kernel = pick_adam_kernel(l2, decoupled, o.amsgrad);
  detail::TensorImpl& p = *params_[i].impl();
  AdamState& s = state_[i];
  if (!s.exp_avg.defined()) {  // allocated once, on the parameter's first step
    s.exp_avg = Tensor::zeros(p.shape);
    s.exp_avg_sq = Tensor::zeros(p.shape);
    s.step = 0;
  }
  if (o.amsgrad && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = Tensor::zeros(p.shape);
  s.step += 1;

  const double step = static_cast<double>(s.step);
  const double bias_correction1 = 1.0 - std::pow(beta1, step);
  const double bias_correction2 = 1.0 - std::pow(beta2, step);
  const double step_size = lr_ / bias_correction1;
  const AdamCoefficients c{static_cast<float>(1.0 - lr_ * weight_decay),
                           static_cast<float>(weight_decay),
                           static_cast<float>(beta1),
                           static_cast<float>(1.0 - beta1),
                           static_cast<float>(beta2),
                           static_cast<float>(1.0 - beta2),
                           static_cast<float>(std::sqrt(bias_correction2)),
                           static_cast<float>(o.eps),
                           static_cast<float>(-step_size)};
  float *param = p.data, *exp_avg = s.exp_avg.data(), *exp_avg_sq = s.exp_avg_sq.data();
  float* max_exp_avg_sq = o.amsgrad ? s.max_exp_avg_sq.data() : nullptr;
  const float* grad = detail::materialized_grad(p)->data;
  optim_detail::update_in_blocks(
      p.numel, s.block_arithmetic, [&](std::int64_t begin, std::int64_t end, std::uint8_t* arithmetic) {
        kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, arithmetic, c);
      });
}

void Adam::set_weight_decay_mask(std::vector<bool> decays) {
  if (!decays.empty() && decays.size() != params_.size())
    throw ValueError(fmt::format("{}: the weight-decay mask has {} entries for {} parameters", name(),
                                 decays.size(), params_.size()));
  decay_mask_ = std::move(decays);
}

std::vector<StateBuffer<AdamState>> Adam::state_buffers() const {
  return {
      {"exp_avg", &AdamState::exp_avg},
      {"exp_avg_sq", &AdamState::exp_avg_sq},
      {"max_exp_avg_sq", &AdamState::max_exp_avg_sq, options_.amsgrad, "AMSGrad state, but amsgrad is off"}};
}

}  // namespace bend::optim
