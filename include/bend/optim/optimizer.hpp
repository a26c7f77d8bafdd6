#pragma once
// Optimizer: the base of bend's gradient-descent optimizers (SGD, Adam, AdamW). It holds the
// parameters (leaf tensors; their grad() is filled by backward) and one learning rate, like a
// torch.optim optimizer with a single parameter group. step() updates every parameter that has a
// gradient in place, under NoGradGuard; a parameter whose grad is undefined is skipped (PyTorch skips
// grad None). Per-parameter state (momentum buffers, moment estimates) is allocated once, on the first
// step that needs it, so steady-state steps allocate nothing.
//
// Checkpoints: state_tensors() names each state buffer the way PyTorch's optimizer.state_dict() does,
// "state.<param index>.<key>" ("state.0.exp_avg", "state.3.momentum_buffer", "state.0.step", ...);
// hyperparameters() gives lr, momentum, betas, ... by name. load_state() and set_hyperparameters()
// put them back, so that the steps after a restore are bit-identical to an uninterrupted run.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bend/tensor.hpp"

namespace bend {

using OptimizerState = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  // `params` must be non-empty, defined, distinct leaf tensors (ValueError otherwise).
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter whose grad is defined.
  virtual void step() = 0;
  // Fills every existing gradient with zeros, keeping its memory (undefined grads stay undefined).
  void zero_grad();

  // The learning rate, kept in double as PyTorch keeps it (a Python float); schedulers set it.
  double lr() const { return lr_; }
  void set_lr(double lr);  // ValueError when negative or NaN

  virtual std::string_view name() const = 0;  // "SGD", "Adam", "AdamW"
  const std::vector<Tensor>& params() const { return params_; }

  // Copies of the state buffers of every parameter that has state, named "state.<index>.<key>" (the
  // step count is a 0-d tensor). Copies, so a snapshot is not changed by later steps.
  virtual OptimizerState state_tensors() const = 0;
  // Replaces the whole state (a parameter not mentioned starts fresh, as if never stepped). Checks
  // everything before changing anything: unknown or repeated names, indices out of range, missing
  // keys -> ValueError; a buffer whose shape differs from its parameter's -> ShapeError.
  virtual void load_state(const OptimizerState& state) = 0;

  // lr and the optimizer's options by name (booleans as 0/1).
  virtual std::map<std::string, double> hyperparameters() const = 0;
  // Sets the named options (any subset of hyperparameters()); unknown names or invalid values ->
  // ValueError, and then nothing is changed.
  virtual void set_hyperparameters(const std::map<std::string, double>& values) = 0;

 protected:
  // Splits "state.<index>.<key>" into index and key; ValueError when malformed or out of range.
  std::pair<std::size_t, std::string> parse_state_name(const std::string& name) const;
  // A 0-d float tensor holding a step count, and back (ValueError unless a non-negative integer).
  static Tensor step_tensor(std::int64_t step);
  std::int64_t step_from_tensor(const std::string& name, const Tensor& t) const;
  // ShapeError unless `t` has the shape of params()[index].
  void check_state_shape(const std::string& name, const Tensor& t, std::size_t index) const;
  static Tensor copy_of(const Tensor& t);

  std::vector<Tensor> params_;
  double lr_;
};

// Validation shared by the optimizers and schedulers: ValueError naming `what` and the value.
void check_non_negative(std::string_view owner, std::string_view what, double value);
void check_finite(std::string_view owner, std::string_view what, double value);
// A boolean hyperparameter given as a double: 0 or 1, ValueError otherwise.
bool hyperparameter_flag(std::string_view owner, std::string_view key, double value);

}  // namespace bend
