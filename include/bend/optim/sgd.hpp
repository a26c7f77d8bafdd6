#pragma once
// SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay, with PyTorch's update
// rule (torch.optim.SGD), per parameter p with gradient g:
//   g += weight_decay * p
//   if momentum != 0:  buf = g on the parameter's first step, else buf = momentum*buf + (1-dampening)*g
//                      g = nesterov ? g + momentum*buf : buf
//   p -= lr * g
// The float operations are done in that order, so results agree with PyTorch to float rounding.
#include <cstdint>
#include <vector>

#include "bend/optim/optimizer.hpp"

namespace bend::optim {

// The options and their defaults (PyTorch's, but lr, which PyTorch requires); SGD::table() names them.
struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};

struct SgdState {
  Tensor momentum_buffer;  // undefined until the parameter's first step with momentum
  // Per block of the update, float or double rounded to float (tiny values: src/optim/tiny_values.hpp).
  // Speed only, never results; not part of the state_dict.
  std::vector<std::uint8_t> block_arithmetic;
};

class SGD : public OptimizerWithState<SgdState, SgdOptions> {
 public:
  // ValueError for lr, momentum or weight_decay < 0, a non-finite dampening, or nesterov without
  // momentum > 0 and dampening == 0 (as PyTorch).
  SGD(std::vector<Tensor> params, double lr, double momentum = SgdOptions{}.momentum,
      double dampening = SgdOptions{}.dampening, bool nesterov = SgdOptions{}.nesterov,
      double weight_decay = SgdOptions{}.weight_decay);
  SGD(std::vector<Tensor> params, const SgdOptions& options);

  std::string_view name() const override { return "SGD"; }
  // lr, momentum, dampening, weight_decay, nesterov.
  static const OptionTable<SgdOptions>& table();
  const OptionTable<SgdOptions>& option_table() const override { return table(); }

 protected:
  // State keys: "state.<i>.momentum_buffer" (only once a parameter has taken a step with momentum).
  std::vector<StateBuffer<SgdState>> state_buffers() const override;
  void update(std::size_t index) override;  // one parameter's step (see Optimizer)
  void validate(const SgdOptions& o) const override;
};

}  // namespace bend::optim

namespace bend {
using optim::SGD;
using optim::SgdOptions;
using optim::SgdState;
}  // namespace bend
