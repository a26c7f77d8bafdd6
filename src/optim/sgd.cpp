// SGD: PyTorch's update rule as one fused, vectorisable float loop per parameter (in double, rounded
// to float, for blocks with tiny values: tiny_values.hpp). The option branches
// (weight decay, momentum phase, Nesterov) are template parameters, picked once per parameter.
#include "bend/optim/sgd.hpp"
#include "bend/detail/multiversion.hpp"

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/parallel.hpp"
#include "tiny_values.hpp"

namespace bend::optim {
namespace {

enum class MomentumPhase { kNone, kFirstStep, kRunning };

struct SgdCoefficients {
  float weight_decay;         // alpha of g.add(p, alpha=weight_decay)
  float momentum;             // buf.mul_(momentum) and Nesterov's g.add(buf, alpha=momentum)
  float one_minus_dampening;  // alpha of buf.add_(g, alpha=1-dampening)
  float negative_lr;          // alpha of p.add_(g, alpha=-lr)
};

// Elements [begin, end) of one parameter, begin on a block boundary; arithmetic: one entry per block
// (float, or double rounded to float where values are tiny: tiny_values.hpp).
template <bool kWeightDecay, MomentumPhase kPhase, bool kNesterov>
BEND_MULTIVERSION void sgd_update(float* __restrict param, const float* __restrict grad,
                                  float* __restrict buffer, std::int64_t begin, std::int64_t end,
                                  std::uint8_t* arithmetic, const SgdCoefficients& c) {
  using optim_detail::tiny_below, optim_detail::tiny_bit;
  const SgdCoefficients k = c;  // locals, so the compiler keeps them in registers
  const std::uint32_t tiny_gradient = tiny_below({k.one_minus_dampening, k.momentum, k.negative_lr});
  const std::uint32_t tiny_buffer = tiny_below({k.momentum, k.negative_lr});
  const std::uint32_t tiny_param = tiny_below({kWeightDecay ? k.weight_decay : 0.0f});
  optim_detail::for_each_element_one_chain(begin, end, arithmetic, [&](const auto rounded, std::int64_t i) {
    using Real = typename decltype(rounded)::Real;
    const Real p = param[i];
    std::uint32_t tiny = 0;
    Real d = optim_detail::decayed_gradient<kWeightDecay>(rounded, p, grad[i], k.weight_decay, tiny_gradient,
                                                          tiny_param, tiny);
    if constexpr (kPhase != MomentumPhase::kNone) {
      Real m;
      if constexpr (kPhase == MomentumPhase::kFirstStep) {
        m = d;  // PyTorch starts the buffer as a copy of the gradient, without dampening
      } else {
        m = rounded(rounded(buffer[i] * Real{k.momentum}) + rounded(Real{k.one_minus_dampening} * d));
      }
      buffer[i] = static_cast<float>(m);
      tiny |= tiny_bit(m, tiny_buffer);
      if constexpr (kNesterov) {
        d = rounded(d + rounded(Real{k.momentum} * m));
      } else {
        d = m;
      }
    }
    param[i] = static_cast<float>(rounded(p + rounded(Real{k.negative_lr} * d)));
    return tiny;
  });
}

using SgdKernel = void (*)(float*, const float*, float*, std::int64_t, std::int64_t, std::uint8_t*,
                           const SgdCoefficients&);

template <bool kWeightDecay, MomentumPhase kPhase>
SgdKernel pick_sgd_kernel(bool nesterov) {
  return nesterov ? &sgd_update<kWeightDecay, kPhase, true> : &sgd_update<kWeightDecay, kPhase, false>;
}

template <bool kWeightDecay>
SgdKernel pick_sgd_kernel(MomentumPhase phase, bool nesterov) {
  switch (phase) {
    case MomentumPhase::kNone:
      return pick_sgd_kernel<kWeightDecay, MomentumPhase::kNone>(false);
    case MomentumPhase::kFirstStep:
      return pick_sgd_kernel<kWeightDecay, MomentumPhase::kFirstStep>(nesterov);
    case MomentumPhase::kRunning:
      return pick_sgd_kernel<kWeightDecay, MomentumPhase::kRunning>(nesterov);
  }
  return nullptr;
}

SgdKernel pick_sgd_kernel(bool weight_decay, MomentumPhase phase, bool nesterov) {
  return weight_decay ? pick_sgd_kernel<true>(phase, nesterov) : pick_sgd_kernel<false>(phase, nesterov);
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, double lr, double momentum, double dampening, bool nesterov,
         double weight_decay)
    : SGD(std::move(params), SgdOptions{lr, momentum, dampening, nesterov, weight_decay}) {}

SGD::SGD(std::vector<Tensor> params, const SgdOptions& options)
    : OptimizerWithState(std::move(params), options) {
  check(options);
}

const OptionTable<SgdOptions>& SGD::table() {
  static const OptionTable<SgdOptions> table{
      {
          option<&SgdOptions::lr>("lr", "learning rate (PyTorch requires one; bend's default is 0.01)"),
          option<&SgdOptions::momentum>("momentum", "momentum factor (0: none)"),
          option<&SgdOptions::dampening>("dampening", "dampening of the momentum's gradient term",
                                         OptionRange::kFinite),
          option<&SgdOptions::weight_decay>("weight_decay",
                                            "L2 penalty: adds weight_decay*p to the gradient"),
          option<&SgdOptions::nesterov>("nesterov", "Nesterov momentum (needs momentum > 0 and dampening 0)"),
      },
      SgdOptions{}};
  return table;
}

void SGD::validate(const SgdOptions& o) const {
  if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
    throw ValueError(
        fmt::format("SGD: Nesterov momentum requires momentum > 0 and dampening 0 (got momentum {}, "
                    "dampening {})",
                    o.momentum, o.dampening));
}

void SGD::update(std::size_t i) {
  const SgdOptions& o = options_;
  const SgdCoefficients c{static_cast<float>(o.weight_decay), static_cast<float>(o.momentum),
                          static_cast<float>(1.0 - o.dampening), static_cast<float>(-lr_)};
  detail::TensorImpl& p = *params_[i].impl();
  MomentumPhase phase = MomentumPhase::kNone;
  float* buffer = nullptr;
  if (o.momentum != 0.0) {
    Tensor& buf = state_[i].momentum_buffer;
    phase = buf.defined() ? MomentumPhase::kRunning : MomentumPhase::kFirstStep;
    if (!buf.defined()) buf = Tensor::empty(p.shape);  // allocated once, on the first step
    buffer = buf.data();
  }
  const SgdKernel kernel = pick_sgd_kernel(o.weight_decay != 0.0, phase, o.nesterov);
  float *param = p.data, *grad = detail::materialized_grad(p)->data;
  optim_detail::update_in_blocks(p.numel, state_[i].block_arithmetic,
                                 [&](std::int64_t begin, std::int64_t end, std::uint8_t* arithmetic) {
                                   kernel(param, grad, buffer, begin, end, arithmetic, c);
                                 });
}

std::vector<StateBuffer<SgdState>> SGD::state_buffers() const {
  // Accepted on load even with momentum 0 (it is then kept but unused).
  return {{"momentum_buffer", &SgdState::momentum_buffer}};
}

}  // namespace bend::optim
