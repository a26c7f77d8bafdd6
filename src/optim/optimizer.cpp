// Optimizer base: parameter checks, zero_grad, learning rate, and helpers for state checkpoints.
#include "bend/optim/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/profiler.hpp"

namespace bend::optim {

void check_non_negative(std::string_view owner, std::string_view what, double value) {
  if (!(value >= 0.0))  // also rejects NaN
    throw ValueError(fmt::format("{}: invalid {} {} (must be >= 0)", owner, what, value));
}

void check_finite(std::string_view owner, std::string_view what, double value) {
  if (!std::isfinite(value))
    throw ValueError(fmt::format("{}: invalid {} {} (must be finite)", owner, what, value));
}

bool hyperparameter_flag(std::string_view owner, std::string_view key, double value) {
  if (value != 0.0 && value != 1.0)
    throw ValueError(fmt::format("{}: hyperparameter '{}' = {} must be 0 or 1", owner, key, value));
  return value != 0.0;
}

void check_option_range(std::string_view owner, std::string_view name, OptionRange range, double value) {
  switch (range) {
    case OptionRange::kNonNegative:
      return check_non_negative(owner, name, value);
    case OptionRange::kFinite:
      return check_finite(owner, name, value);
    case OptionRange::kUnitInterval:
      if (!(value >= 0.0 && value < 1.0))
        throw ValueError(fmt::format("{}: invalid {} {} (must be in [0, 1))", owner, name, value));
      return;
    case OptionRange::kFlag:
      hyperparameter_flag(owner, name, value);
      return;
  }
}

void throw_unknown_hyperparameter(std::string_view owner, std::string_view key, std::string_view known) {
  throw ValueError(fmt::format("{}: unknown hyperparameter '{}' (known: {})", owner, key, known));
}

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  if (params_.empty()) throw ValueError("optimizer got an empty parameter list");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) throw ValueError(fmt::format("optimizer: parameter {} is an undefined tensor", i));
    if (!p.is_leaf())
      throw ValueError(
          fmt::format("optimizer: parameter {} (shape {}) is not a leaf tensor; optimize the leaf "
                      "it was computed from",
                      i, p.shape().str()));
    if (!index_of_.emplace(p.impl(), i).second)
      throw ValueError(
          fmt::format("optimizer: parameter {} (shape {}) appears more than once", i, p.shape().str()));
  }
  updated_.assign(params_.size(), 0);
  // The derived class validates lr together with its other options (its name is known only there).
}

bool Optimizer::step_parameter(std::size_t index) {
  const detail::TensorImpl& p = *params_[index].impl();
  if (!p.grad) return false;  // no gradient reached this parameter: PyTorch skips it too
  if (p.grad->numel != p.numel)
    throw ShapeError(fmt::format("{}: parameter {} has shape {} but its gradient has shape {}", name(), index,
                                 p.shape.str(), p.grad->shape.str()));
  update(index);
  return true;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) step_parameter(i);
}

void Optimizer::on_grad_ready(void* self, const Tensor& leaf) {
  Optimizer& optimizer = *static_cast<Optimizer*>(self);
  NoGradGuard no_grad;
  const profiler::Scope span("optimizer (in backward)", profiler::Category::Optimizer);
  const auto found = optimizer.index_of_.find(leaf.impl());
  if (found == optimizer.index_of_.end()) return;  // a leaf this optimizer does not update
  optimizer.step_parameter(found->second);
  optimizer.updated_[found->second] = 1;
}

void Optimizer::backward_and_step(const Tensor& loss) {
  std::fill(updated_.begin(), updated_.end(), std::uint8_t{0});
  {
    GradReadyHookScope hook({&Optimizer::on_grad_ready, this});
    loss.backward();
  }
  // Parameters the replay did not reach (unused by this loss, or a gradient already there from an
  // earlier backward) are stepped now, as step() would.
  NoGradGuard no_grad;
  const profiler::Scope span("optimizer (in backward)", profiler::Category::Optimizer);
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (!updated_[i]) step_parameter(i);
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  check_non_negative(name(), "learning rate", lr);
  lr_ = lr;
}

std::pair<std::size_t, std::string> Optimizer::parse_state_name(const std::string& name) const {
  constexpr std::string_view prefix = "state.";
  const auto malformed = [&](std::string_view why) {
    return ValueError(fmt::format("{}: state entry '{}': {} (expected 'state.<parameter index>.<key>')",
                                  this->name(), name, why));
  };
  if (!name.starts_with(prefix)) throw malformed("does not start with 'state.'");
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size();
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(first, last, index);
  if (ec != std::errc() || end == first) throw malformed("no parameter index");
  if (end == last || *end != '.' || end + 1 == last) throw malformed("no key after the parameter index");
  if (index >= params_.size())
    throw ValueError(
        fmt::format("{}: state entry '{}' is for parameter {}, but the optimizer has {} parameters",
                    this->name(), name, index, params_.size()));
  return {index, std::string(end + 1, last)};
}

Tensor Optimizer::step_tensor(std::int64_t step) { return Tensor::scalar(static_cast<float>(step)); }

std::int64_t Optimizer::step_from_tensor(const std::string& name, const Tensor& t) const {
  if (!t.defined() || t.numel() != 1)
    throw ShapeError(fmt::format("{}: state entry '{}' must hold one value (the step count), got shape {}",
                                 this->name(), name, t.defined() ? t.shape().str() : "undefined"));
  const float value = t.data()[0];
  // Step counts are stored as float, as PyTorch does; they are exact up to 2^24.
  if (!(value >= 0.0f) || value > 16777216.0f || value != std::floor(value))
    throw ValueError(
        fmt::format("{}: state entry '{}' = {} is not a valid step count", this->name(), name, value));
  return static_cast<std::int64_t>(value);
}

void Optimizer::check_state_shape(const std::string& name, const Tensor& t, std::size_t index) const {
  if (!t.defined())
    throw ValueError(fmt::format("{}: state entry '{}' is an undefined tensor", this->name(), name));
  if (!(t.shape() == params_[index].shape()))
    throw ShapeError(fmt::format("{}: state entry '{}' has shape {} but parameter {} has shape {}",
                                 this->name(), name, t.shape().str(), index, params_[index].shape().str()));
}

Tensor Optimizer::copy_of(const Tensor& t) {
  Tensor copy = Tensor::empty(t.shape());
  copy.copy_from(t);
  return copy;
}

std::string Optimizer::state_name(std::size_t index, std::string_view key) {
  return fmt::format("state.{}.{}", index, key);
}

void Optimizer::restore_buffer(Tensor& into, const Tensor* from) {
  if (!from) {
    into = Tensor();
    return;
  }
  if (!into.defined()) into = Tensor::empty(from->shape());
  into.copy_from(*from);
}

Optimizer::IncomingState Optimizer::check_state(const OptimizerState& state,
                                                const std::vector<StateKey>& keys, bool keeps_step) const {
  IncomingState in;
  in.keys_per_param_ = keys.size();
  in.buffers_.assign(params_.size() * keys.size(), nullptr);
  in.steps_.assign(params_.size(), -1);
  in.has_state_.assign(params_.size(), false);
  const auto duplicate = [&](const std::string& name) {
    return ValueError(fmt::format("{}: state entry '{}' appears twice", this->name(), name));
  };
  for (const auto& [name, tensor] : state) {
    const auto [index, key] = parse_state_name(name);
    in.has_state_[index] = true;
    if (keeps_step && key == "step") {
      if (in.steps_[index] >= 0) throw duplicate(name);
      in.steps_[index] = step_from_tensor(name, tensor);
      continue;
    }
    const auto known =
        std::find_if(keys.begin(), keys.end(), [&key = key](const StateKey& k) { return k.key == key; });
    if (known == keys.end()) {
      std::string known_keys = keeps_step ? "step" : "";
      for (const StateKey& k : keys) known_keys += fmt::format("{}{}", known_keys.empty() ? "" : ", ", k.key);
      throw ValueError(
          fmt::format("{}: unknown state entry '{}' (known keys: {})", this->name(), name, known_keys));
    }
    if (!known->in_use)
      throw ValueError(fmt::format("{}: state entry '{}' is {}", this->name(), name, known->unused_because));
    const Tensor*& slot = in.buffers_[index * keys.size() + static_cast<std::size_t>(known - keys.begin())];
    if (slot) throw duplicate(name);
    check_state_shape(name, tensor, index);
    slot = &tensor;
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!in.has_state_[i]) continue;
    const auto missing = [&](std::string_view key) {
      return ValueError(fmt::format("{}: state for parameter {} has no '{}'", name(), i, state_name(i, key)));
    };
    if (keeps_step && in.steps_[i] < 0) throw missing("step");
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (keys[k].in_use && !in.buffer(i, k)) throw missing(keys[k].key);
  }
  return in;
}

}  // namespace bend::optim
