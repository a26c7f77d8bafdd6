#pragma once
// RMSprop with optional L2 weight decay, momentum and centering, following PyTorch's single-tensor
// implementation (torch/optim/rmsprop.py) operation by operation, so results agree with PyTorch to
// float rounding. Per parameter p with gradient g:
//   g += weight_decay * p
//   square_avg = alpha*square_avg + (1-alpha)*g*g
//   centered:  grad_avg = alpha*grad_avg + (1-alpha)*g;  avg = sqrt(square_avg - grad_avg*grad_avg)
//   else:      avg = sqrt(square_avg)
//   avg += eps                                   (eps is added after the square root)
//   momentum > 0:  buf = momentum*buf + g/avg;  p -= lr*buf
//   else:          p -= lr*g/avg
// Every buffer starts at zero (unlike SGD, whose momentum buffer starts as the first gradient).
#include <cstdint>
#include <vector>

#include "bend/optim/optimizer.hpp"

namespace bend::optim {

// The options and PyTorch's defaults; RMSprop::table() names them.
struct RmspropOptions {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

struct RmspropState {
  Tensor square_avg, momentum_buffer, grad_avg;  // undefined until first needed
  std::int64_t step = 0;
  // Per block of the update, float or double rounded to float (tiny values: src/optim/tiny_values.hpp).
  // Speed only, never results; not part of the state_dict.
  std::vector<std::uint8_t> block_arithmetic;
};

class RMSprop : public OptimizerWithState<RmspropState, RmspropOptions> {
 public:
  // ValueError for lr, alpha, eps, weight_decay or momentum < 0 (PyTorch's checks).
  explicit RMSprop(std::vector<Tensor> params, double lr = RmspropOptions{}.lr,
                   double alpha = RmspropOptions{}.alpha, double eps = RmspropOptions{}.eps,
                   double weight_decay = RmspropOptions{}.weight_decay,
                   double momentum = RmspropOptions{}.momentum, bool centered = RmspropOptions{}.centered);
  RMSprop(std::vector<Tensor> params, const RmspropOptions& options);

  std::string_view name() const override { return "RMSprop"; }
  // lr, alpha, eps, weight_decay, momentum, centered.
  static const OptionTable<RmspropOptions>& table();
  const OptionTable<RmspropOptions>& option_table() const override { return table(); }

 protected:
  // State keys per parameter that has taken a step: step (0-d), square_avg, momentum_buffer (momentum
  // > 0 only), grad_avg (centered only), as in PyTorch's optimizer.state_dict().
  std::vector<StateBuffer<RmspropState>> state_buffers() const override;
  void update(std::size_t index) override;  // one parameter's step (see Optimizer)
};

}  // namespace bend::optim

namespace bend {
using optim::RMSprop;
using optim::RmspropOptions;
using optim::RmspropState;
}  // namespace bend
