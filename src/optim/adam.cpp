// Adam and AdamW: PyTorch's single-tensor update as one fused, vectorisable float loop per parameter.
// Weight-decay kind and AMSGrad are template parameters, picked once per parameter; the scalar
// coefficients (bias corrections, step size) are computed in double per parameter, as PyTorch does.
#include "bend/optim/adam.hpp"
#include "bend/detail/multiversion.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/parallel.hpp"

namespace bend {
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

template <bool kL2, bool kDecoupled, bool kAmsgrad>
BEND_MULTIVERSION void adam_update(float* __restrict param, const float* __restrict grad,
                                   float* __restrict exp_avg, float* __restrict exp_avg_sq,
                                   float* __restrict max_exp_avg_sq, std::int64_t n,
                                   const AdamCoefficients& c) {
  const AdamCoefficients k = c;  // locals, so the compiler keeps them in registers
  for (std::int64_t i = 0; i < n; ++i) {
    float p = param[i];
    if constexpr (kDecoupled) p = p * k.decay_factor;
    float g = grad[i];
    if constexpr (kL2) g = g + k.weight_decay * p;
    const float m = exp_avg[i] * k.beta1 + k.one_minus_beta1 * g;         // mul_(b1).add_(g, alpha=1-b1)
    const float v = exp_avg_sq[i] * k.beta2 + k.one_minus_beta2 * g * g;  // mul_(b2).addcmul_(g, g, 1-b2)
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    float v_used = v;
    if constexpr (kAmsgrad) {
      v_used = std::max(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v_used;
    }
    const float denom = std::sqrt(v_used) / k.bias_correction2_sqrt + k.eps;
    param[i] = p + k.negative_step_size * m / denom;  // addcdiv_: p + value*m/denom
  }
}

using AdamKernel = void (*)(float*, const float*, float*, float*, float*, std::int64_t,
                            const AdamCoefficients&);

template <bool kL2, bool kDecoupled>
AdamKernel pick_kernel(bool amsgrad) {
  return amsgrad ? &adam_update<kL2, kDecoupled, true> : &adam_update<kL2, kDecoupled, false>;
}

AdamKernel pick_kernel(bool l2, bool decoupled, bool amsgrad) {
  if (l2) return pick_kernel<true, false>(amsgrad);
  if (decoupled) return pick_kernel<false, true>(amsgrad);
  return pick_kernel<false, false>(amsgrad);
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
           double weight_decay, bool amsgrad)
    : Adam(std::move(params), AdamOptions{lr, betas, eps, weight_decay, amsgrad}, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled_weight_decay)
    : OptimizerWithState(std::move(params), options.lr),
      beta1_(options.betas.first),
      beta2_(options.betas.second),
      eps_(options.eps),
      weight_decay_(options.weight_decay),
      amsgrad_(options.amsgrad),
      decoupled_weight_decay_(decoupled_weight_decay) {
  validate(options);
}

AdamW::AdamW(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
             double weight_decay, bool amsgrad)
    : Adam(std::move(params), AdamOptions{lr, betas, eps, weight_decay, amsgrad}, true) {}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, true) {}

void Adam::validate(const AdamOptions& o) const {
  const std::string_view owner = name();
  check_non_negative(owner, "learning rate", o.lr);
  check_non_negative(owner, "epsilon", o.eps);
  check_non_negative(owner, "weight_decay", o.weight_decay);
  const auto check_beta = [&](std::string_view which, double beta) {
    if (!(beta >= 0.0 && beta < 1.0))
      throw ValueError(fmt::format("{}: invalid {} {} (must be in [0, 1))", owner, which, beta));
  };
  check_beta("beta1", o.betas.first);
  check_beta("beta2", o.betas.second);
}

AdamOptions Adam::options() const { return {lr_, {beta1_, beta2_}, eps_, weight_decay_, amsgrad_}; }

void Adam::update(std::size_t i) {
  const bool l2 = !decoupled_weight_decay_ && weight_decay_ != 0.0;
  const bool decoupled = decoupled_weight_decay_ && weight_decay_ != 0.0;  // p *= 1 is a no-op
  const AdamKernel kernel = pick_kernel(l2, decoupled, amsgrad_);
  detail::TensorImpl& p = *params_[i].impl();
  AdamState& s = state_[i];
  if (!s.exp_avg.defined()) {  // allocated once, on the parameter's first step
    s.exp_avg = Tensor::zeros(p.shape);
    s.exp_avg_sq = Tensor::zeros(p.shape);
    s.step = 0;
  }
  if (amsgrad_ && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = Tensor::zeros(p.shape);
  s.step += 1;

  const double step = static_cast<double>(s.step);
  const double bias_correction1 = 1.0 - std::pow(beta1_, step);
  const double bias_correction2 = 1.0 - std::pow(beta2_, step);
  const double step_size = lr_ / bias_correction1;
  const AdamCoefficients c{static_cast<float>(1.0 - lr_ * weight_decay_),
                           static_cast<float>(weight_decay_),
                           static_cast<float>(beta1_),
                           static_cast<float>(1.0 - beta1_),
                           static_cast<float>(beta2_),
                           static_cast<float>(1.0 - beta2_),
                           static_cast<float>(std::sqrt(bias_correction2)),
                           static_cast<float>(eps_),
                           static_cast<float>(-step_size)};
  float *param = p.data, *exp_avg = s.exp_avg.data(), *exp_avg_sq = s.exp_avg_sq.data();
  float* max_exp_avg_sq = amsgrad_ ? s.max_exp_avg_sq.data() : nullptr;
  const float* grad = detail::materialized_grad(p)->data;
  parallel_for_elements(p.numel, [&](std::int64_t begin, std::int64_t end) {
    kernel(param + begin, grad + begin, exp_avg + begin, exp_avg_sq + begin,
           max_exp_avg_sq ? max_exp_avg_sq + begin : nullptr, end - begin, c);
  });
}

std::vector<StateBuffer<AdamState>> Adam::state_buffers() const {
  return {{"exp_avg", &AdamState::exp_avg},
          {"exp_avg_sq", &AdamState::exp_avg_sq},
          {"max_exp_avg_sq", &AdamState::max_exp_avg_sq, amsgrad_, "AMSGrad state, but amsgrad is off"}};
}

std::map<std::string, double> Adam::hyperparameters() const {
  return {{"lr", lr_},
          {"beta1", beta1_},
          {"beta2", beta2_},
          {"eps", eps_},
          {"weight_decay", weight_decay_},
          {"amsgrad", amsgrad_ ? 1.0 : 0.0}};
}

void Adam::set_hyperparameters(const std::map<std::string, double>& values) {
  AdamOptions o = options();
  for (const auto& [key, value] : values) {
    if (key == "lr")
      o.lr = value;
    else if (key == "beta1")
      o.betas.first = value;
    else if (key == "beta2")
      o.betas.second = value;
    else if (key == "eps")
      o.eps = value;
    else if (key == "weight_decay")
      o.weight_decay = value;
    else if (key == "amsgrad")
      o.amsgrad = hyperparameter_flag(name(), key, value);
    else
      throw ValueError(
          fmt::format("{}: unknown hyperparameter '{}' (known: lr, beta1, beta2, eps, weight_decay, "
                      "amsgrad)",
                      name(), key));
  }
  validate(o);
  lr_ = o.lr;
  beta1_ = o.betas.first;
  beta2_ = o.betas.second;
  eps_ = o.eps;
  weight_decay_ = o.weight_decay;
  amsgrad_ = o.amsgrad;
}

}  // namespace bend
