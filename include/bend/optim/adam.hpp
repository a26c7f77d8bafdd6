#pragma once
// Adam (with optional L2 weight decay and AMSGrad) and AdamW (decoupled weight decay), following
// PyTorch's single-tensor implementation (torch/optim/adam.py, adamw.py) operation by operation, so
// results agree with PyTorch to float rounding. Per parameter p with gradient g, at its step t:
//   t += 1
//   AdamW: p *= 1 - lr*weight_decay              Adam: g += weight_decay*p
//   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
//   bc1 = 1 - beta1^t;  bc2 = 1 - beta2^t;  step_size = lr/bc1
//   amsgrad: v_max = max(v_max, v), used in place of v below
//   denom = sqrt(v)/sqrt(bc2) + eps;  p -= step_size * m/denom
// (PyTorch 1.13's order: m.mul_(beta1).add_(g, alpha=1-beta1); newer releases use lerp_, equal to
// float rounding.) The scalar coefficients are computed in double (as PyTorch does in Python), the
// element-wise work in float, one fused pass per parameter.
#include <cstdint>
#include <utility>
#include <vector>

#include "bend/optim/optimizer.hpp"

namespace bend::optim {

// The options and PyTorch's defaults (Adam's; AdamW::table() has AdamW's weight_decay 1e-2).
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

struct AdamState {
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // undefined until the parameter's first step
  std::int64_t step = 0;
  // Per block of the update, whether it runs in float or in double rounded to float (tiny values:
  // see src/optim/tiny_values.hpp). Speed only, never results; not part of the state_dict.
  std::vector<std::uint8_t> block_arithmetic;
};

class Adam : public OptimizerWithState<AdamState, AdamOptions> {
 public:
  // ValueError for lr, eps or weight_decay < 0, or a beta outside [0, 1).
  explicit Adam(std::vector<Tensor> params, double lr = AdamOptions{}.lr,
                std::pair<double, double> betas = AdamOptions{}.betas, double eps = AdamOptions{}.eps,
                double weight_decay = AdamOptions{}.weight_decay, bool amsgrad = AdamOptions{}.amsgrad);
  Adam(std::vector<Tensor> params, const AdamOptions& options);

  std::string_view name() const override { return decoupled_weight_decay_ ? "AdamW" : "Adam"; }
  // lr, beta1, beta2 (PyTorch's betas), eps, weight_decay, amsgrad.
  static const OptionTable<AdamOptions>& table();
  const OptionTable<AdamOptions>& option_table() const override { return table(); }

  // Two parameter groups, as nanoGPT's configure_optimizers makes them: weight_decay applies to
  // params()[i] only where decays[i] (nanoGPT: the tensors with 2 or more dimensions); the others take
  // weight_decay 0. Empty (the default): every parameter decays. ValueError when the size differs.
  void set_weight_decay_mask(std::vector<bool> decays);

 protected:
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled_weight_decay);
  // State keys per parameter that has taken a step: step (0-d), exp_avg, exp_avg_sq, max_exp_avg_sq
  // (amsgrad only).
  std::vector<StateBuffer<AdamState>> state_buffers() const override;
  void update(std::size_t index) override;  // one parameter's step (see Optimizer)

 private:
  bool decoupled_weight_decay_;
  std::vector<bool> decay_mask_;  // empty: all decay
};

// Adam with decoupled weight decay (Loshchilov & Hutter), torch.optim.AdamW; weight_decay defaults
// to 1e-2.
class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, double lr = table().defaults.lr,
                 std::pair<double, double> betas = table().defaults.betas, double eps = table().defaults.eps,
                 double weight_decay = table().defaults.weight_decay,
                 bool amsgrad = table().defaults.amsgrad);
  // options.weight_decay is used as given: AdamOptions{} has 0, not AdamW's default 1e-2.
  AdamW(std::vector<Tensor> params, const AdamOptions& options);

  // Adam's options, with AdamW's defaults (weight_decay 1e-2) and help.
  static const OptionTable<AdamOptions>& table();
  const OptionTable<AdamOptions>& option_table() const override { return table(); }
};

}  // namespace bend::optim

namespace bend {
using optim::Adam;
using optim::AdamOptions;
using optim::AdamState;
using optim::AdamW;
}  // namespace bend
