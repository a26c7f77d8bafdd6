// Learning-rate schedules (StepLR, CosineAnnealingLR, ReduceLROnPlateau) with the epoch conventions and
// formulas of torch.optim.lr_scheduler, computed in double.
#include "bend/optim/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::optim {

// --- LrScheduler ---------------------------------------------------------------------------------

LrScheduler::LrScheduler(Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(optimizer.lr()), last_lr_(optimizer.lr()) {}

void LrScheduler::step() {
  ++last_epoch_;
  apply_lr(lr_at(last_epoch_));
}

void LrScheduler::step(double /*metric*/) { step(); }

void LrScheduler::restart() {
  last_epoch_ = 0;
  apply_lr(lr_at(0));
}

double LrScheduler::lr_at(std::int64_t /*epoch*/) const { return base_lr_; }

void LrScheduler::apply_lr(double lr) {
  optimizer_.set_lr(lr);
  last_lr_ = lr;
}

SchedulerState LrScheduler::state() const {
  return {{"last_epoch", static_cast<double>(last_epoch_)}, {"base_lr", base_lr_}, {"last_lr", last_lr_}};
}

void LrScheduler::load_state(const SchedulerState& state) {
  reject_unknown(state, {"last_epoch", "base_lr", "last_lr"});
  apply_common(parse_common(state));
}

LrScheduler::CommonState LrScheduler::parse_common(const SchedulerState& state) const {
  return {required_count(state, "last_epoch", 0), required_non_negative(state, "base_lr"),
          required_non_negative(state, "last_lr")};
}

void LrScheduler::apply_common(const CommonState& common) {
  last_epoch_ = common.last_epoch;
  base_lr_ = common.base_lr;
  apply_lr(common.last_lr);
}

double LrScheduler::required(const SchedulerState& state, const std::string& key) const {
  const auto it = state.find(key);
  if (it == state.end()) throw ValueError(fmt::format("{}: scheduler state has no '{}'", name(), key));
  if (!std::isfinite(it->second))
    throw ValueError(fmt::format("{}: scheduler state '{}' = {} is not finite", name(), key, it->second));
  return it->second;
}

double LrScheduler::required_non_negative(const SchedulerState& state, const std::string& key) const {
  const double value = required(state, key);
  if (value < 0.0)
    throw ValueError(fmt::format("{}: scheduler state '{}' = {} is negative", name(), key, value));
  return value;
}

std::int64_t LrScheduler::required_count(const SchedulerState& state, const std::string& key,
                                         std::int64_t minimum) const {
  const double value = required(state, key);
  if (value != std::floor(value) || value < static_cast<double>(minimum) || value > 9.0e15)
    throw ValueError(
        fmt::format("{}: scheduler state '{}' = {} is not an integer >= {}", name(), key, value, minimum));
  return static_cast<std::int64_t>(value);
}

bool LrScheduler::required_flag(const SchedulerState& state, const std::string& key) const {
  return hyperparameter_flag(name(), key, required(state, key));
}

void LrScheduler::reject_unknown(const SchedulerState& state, std::initializer_list<std::string_view> known,
                                 std::string_view nested_prefix) const {
  for (const auto& [key, value] : state) {
    if (!nested_prefix.empty() && key.starts_with(nested_prefix)) continue;
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw ValueError(fmt::format("{}: unknown scheduler state entry '{}'", name(), key));
  }
}

// --- StepLR --------------------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LrScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw ValueError(fmt::format("StepLR: step_size must be >= 1, got {}", step_size));
  check_non_negative("StepLR", "gamma", gamma);
  apply_lr(lr_at(0));
}

double StepLR::lr_at(std::int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

SchedulerState StepLR::state() const {
  SchedulerState s = LrScheduler::state();
  s["step_size"] = static_cast<double>(step_size_);
  s["gamma"] = gamma_;
  return s;
}

void StepLR::load_state(const SchedulerState& state) {
  reject_unknown(state, {"last_epoch", "base_lr", "last_lr", "step_size", "gamma"});
  const CommonState common = parse_common(state);
  const std::int64_t step_size = required_count(state, "step_size", 1);
  const double gamma = required_non_negative(state, "gamma");
  step_size_ = step_size;
  gamma_ = gamma;
  apply_common(common);
}

// --- CosineAnnealingLR ---------------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LrScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  if (T_max < 1) throw ValueError(fmt::format("CosineAnnealingLR: T_max must be >= 1, got {}", T_max));
  check_non_negative("CosineAnnealingLR", "eta_min", eta_min);
  apply_lr(lr_at(0));
}

double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
  const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(T_max_);
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

SchedulerState CosineAnnealingLR::state() const {
  SchedulerState s = LrScheduler::state();
  s["T_max"] = static_cast<double>(T_max_);
  s["eta_min"] = eta_min_;
  return s;
}

void CosineAnnealingLR::load_state(const SchedulerState& state) {
  reject_unknown(state, {"last_epoch", "base_lr", "last_lr", "T_max", "eta_min"});
  const CommonState common = parse_common(state);
  const std::int64_t T_max = required_count(state, "T_max", 1);
  const double eta_min = required_non_negative(state, "eta_min");
  T_max_ = T_max;
  eta_min_ = eta_min;
  apply_common(common);
}

// --- ReduceLROnPlateau ---------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, std::string_view mode, double factor,
                                     std::int64_t patience, double threshold, std::int64_t cooldown,
                                     double min_lr, std::string_view threshold_mode, double eps)
    : LrScheduler(optimizer),
      mode_max_(mode == "max"),
      threshold_abs_(threshold_mode == "abs"),
      factor_(factor),
      threshold_(threshold),
      min_lr_(min_lr),
      eps_(eps),
      patience_(patience),
      cooldown_(cooldown) {
  constexpr std::string_view owner = "ReduceLROnPlateau";
  if (mode != "min" && mode != "max")
    throw ValueError(fmt::format("ReduceLROnPlateau: unknown mode '{}' (expected 'min' or 'max')", mode));
  if (threshold_mode != "rel" && threshold_mode != "abs")
    throw ValueError(fmt::format("ReduceLROnPlateau: unknown threshold_mode '{}' (expected 'rel' or 'abs')",
                                 threshold_mode));
  if (!(factor >= 0.0 && factor < 1.0))
    throw ValueError(fmt::format("ReduceLROnPlateau: factor must be in [0, 1), got {}", factor));
  if (patience < 0)
    throw ValueError(fmt::format("ReduceLROnPlateau: patience must be >= 0, got {}", patience));
  if (cooldown < 0)
    throw ValueError(fmt::format("ReduceLROnPlateau: cooldown must be >= 0, got {}", cooldown));
  check_non_negative(owner, "threshold", threshold);
  check_non_negative(owner, "min_lr", min_lr);
  check_non_negative(owner, "eps", eps);
  best_ = worst();
}

double ReduceLROnPlateau::worst() const {
  return mode_max_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double metric) const {
  if (mode_max_) return threshold_abs_ ? metric > best_ + threshold_ : metric > best_ * (1.0 + threshold_);
  return threshold_abs_ ? metric < best_ - threshold_ : metric < best_ * (1.0 - threshold_);
}

void ReduceLROnPlateau::step() {
  throw ValueError("ReduceLROnPlateau: step() needs the epoch's metric; call step(metric)");
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during cool-down do not count
  }
  if (num_bad_epochs_ > patience_) {
    const double old_lr = optimizer_.lr();
    const double new_lr = std::max(old_lr * factor_, min_lr_);
    if (old_lr - new_lr > eps_) optimizer_.set_lr(new_lr);
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_ = optimizer_.lr();
}

void ReduceLROnPlateau::restart() {
  last_epoch_ = 0;
  best_ = worst();
  num_bad_epochs_ = 0;
  cooldown_counter_ = 0;
  apply_lr(base_lr_);
}

SchedulerState ReduceLROnPlateau::state() const {
  SchedulerState s = LrScheduler::state();
  s["mode_max"] = mode_max_ ? 1.0 : 0.0;
  s["threshold_abs"] = threshold_abs_ ? 1.0 : 0.0;
  s["factor"] = factor_;
  s["patience"] = static_cast<double>(patience_);
  s["threshold"] = threshold_;
  s["cooldown"] = static_cast<double>(cooldown_);
  s["min_lr"] = min_lr_;
  s["eps"] = eps_;
  s["num_bad_epochs"] = static_cast<double>(num_bad_epochs_);
  s["cooldown_counter"] = static_cast<double>(cooldown_counter_);
  if (std::isfinite(best_)) s["best"] = best_;
  return s;
}

void ReduceLROnPlateau::load_state(const SchedulerState& state) {
  reject_unknown(state,
                 {"last_epoch", "base_lr", "last_lr", "mode_max", "threshold_abs", "factor", "patience",
                  "threshold", "cooldown", "min_lr", "eps", "num_bad_epochs", "cooldown_counter", "best"});
  const CommonState common = parse_common(state);
  const bool mode_max = required_flag(state, "mode_max");
  const bool threshold_abs = required_flag(state, "threshold_abs");
  const double factor = required_non_negative(state, "factor");
  if (factor >= 1.0)
    throw ValueError(fmt::format("ReduceLROnPlateau: scheduler state 'factor' = {} is >= 1", factor));
  const std::int64_t patience = required_count(state, "patience", 0);
  const double threshold = required_non_negative(state, "threshold");
  const std::int64_t cooldown = required_count(state, "cooldown", 0);
  const double min_lr = required_non_negative(state, "min_lr");
  const double eps = required_non_negative(state, "eps");
  const std::int64_t num_bad_epochs = required_count(state, "num_bad_epochs", 0);
  const std::int64_t cooldown_counter = required_count(state, "cooldown_counter", 0);
  const bool has_best = state.contains("best");
  const double best = has_best ? required(state, "best") : 0.0;

  mode_max_ = mode_max;
  threshold_abs_ = threshold_abs;
  factor_ = factor;
  patience_ = patience;
  threshold_ = threshold;
  cooldown_ = cooldown;
  min_lr_ = min_lr;
  eps_ = eps;
  num_bad_epochs_ = num_bad_epochs;
  cooldown_counter_ = cooldown_counter;
  best_ = has_best ? best : worst();
  apply_common(common);
}

// --- LinearWarmup --------------------------------------------------------------------------------

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps,
                           std::unique_ptr<LrScheduler> after)
    : LrScheduler(optimizer), warmup_steps_(warmup_steps), after_(std::move(after)) {
  if (warmup_steps < 0)
    throw ValueError(fmt::format("LinearWarmup: warmup_steps must be >= 0, got {}", warmup_steps));
  if (after_) {
    if (&after_->optimizer() != &optimizer)
      throw ValueError(
          fmt::format("LinearWarmup: the wrapped {} drives a different optimizer", after_->name()));
    base_lr_ = after_->base_lr();
    follow_after();
  }
}

void LinearWarmup::follow_after() {
  if (!after_) return;
  last_epoch_ = after_->last_epoch();
  last_lr_ = after_->last_lr();
}

void LinearWarmup::before_step(std::int64_t step) {
  if (warmup_steps_ <= 0 || step > warmup_steps_) return;  // past the warm-up: the schedule's own rate
  const double factor = std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup_steps_));
  optimizer_.set_lr(scheduled_lr() * factor);
}

void LinearWarmup::step() {
  if (after_) after_->step();
  follow_after();
  if (!after_) ++last_epoch_;
}

void LinearWarmup::step(double metric) {
  if (after_) after_->step(metric);
  follow_after();
  if (!after_) ++last_epoch_;
}

void LinearWarmup::restart() {
  if (after_) {
    after_->restart();
    follow_after();
  } else {
    last_epoch_ = 0;
    apply_lr(base_lr_);
  }
}

SchedulerState LinearWarmup::state() const { return after_ ? after_->state() : SchedulerState{}; }

void LinearWarmup::load_state(const SchedulerState& state) {
  if (!after_) {
    reject_unknown(state, {});  // a constant rate has no state
    return;
  }
  after_->load_state(state);  // validates before changing anything
  follow_after();
}

}  // namespace bend::optim
