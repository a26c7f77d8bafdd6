#pragma once
// Learning-rate schedules, stepped once per epoch as in PyTorch: construct the scheduler (the optimizer
// then has the epoch-0 rate), train an epoch, call step() (or step(validation_metric)), repeat. They
// follow torch.optim.lr_scheduler: StepLR, CosineAnnealingLR (closed form, which continues as a
// cosine past T_max like PyTorch's) and ReduceLROnPlateau. LinearWarmup wraps any of them with a
// warm-up over the first optimizer steps, through the per-step hook before_step().
//
// A training loop calls every schedule the same way: before_step(step) before each optimizer step and
// step(metric) at the end of each epoch with the epoch's validation metric (only ReduceLROnPlateau
// reads it; the others ignore it).
//
// A scheduler keeps a reference to its optimizer, which must outlive it. state()/load_state() save
// and restore it for checkpoints (numbers only, all finite); load_state() also puts the learning rate
// it last set back into the optimizer.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "bend/optim/optimizer.hpp"

namespace bend::optim {

using SchedulerState = std::map<std::string, double>;

class LrScheduler {
 public:
  // base_lr is the optimizer's learning rate at construction.
  explicit LrScheduler(Optimizer& optimizer);
  virtual ~LrScheduler() = default;
  LrScheduler(const LrScheduler&) = delete;
  LrScheduler& operator=(const LrScheduler&) = delete;

  // End of an epoch: moves to the next epoch's learning rate.
  virtual void step();
  // End of an epoch with a validation metric. Only ReduceLROnPlateau uses the metric; the other
  // schedules ignore it, so a training loop may always call this form.
  virtual void step(double metric);
  // Before optimizer step number `step` (0-based, counted over the whole run). Only a warm-up does
  // anything here; an epoch schedule leaves the rate alone.
  virtual void before_step(std::int64_t /*step*/) {}
  // Back to epoch 0: the base learning rate and fresh counters.
  virtual void restart();

  virtual std::string_view name() const = 0;
  std::int64_t last_epoch() const { return last_epoch_; }  // epochs stepped so far
  double base_lr() const { return base_lr_; }
  double last_lr() const { return last_lr_; }  // the rate this scheduler last set
  Optimizer& optimizer() const { return optimizer_; }

  virtual SchedulerState state() const;
  // Restores state() output (ValueError for unknown, missing or invalid entries; nothing is changed
  // then) and sets the optimizer's learning rate to the restored last_lr.
  virtual void load_state(const SchedulerState& state);

 protected:
  // The learning rate for `epoch` (for schedules with a closed form; ReduceLROnPlateau has none).
  virtual double lr_at(std::int64_t epoch) const;
  void apply_lr(double lr);
  // For load_state(): the entries every schedule has, checked but not yet applied.
  struct CommonState {
    std::int64_t last_epoch;
    double base_lr, last_lr;
  };
  CommonState parse_common(const SchedulerState& state) const;
  void apply_common(const CommonState& common);  // also sets the optimizer's learning rate
  // ValueError naming the scheduler and key when the entry is missing or invalid.
  double required(const SchedulerState& state, const std::string& key) const;
  double required_non_negative(const SchedulerState& state, const std::string& key) const;
  std::int64_t required_count(const SchedulerState& state, const std::string& key,
                              std::int64_t minimum) const;
  bool required_flag(const SchedulerState& state, const std::string& key) const;
  // ValueError for an entry not in `known` (entries starting with `nested_prefix` are left alone).
  void reject_unknown(const SchedulerState& state, std::initializer_list<std::string_view> known,
                      std::string_view nested_prefix = {}) const;

  Optimizer& optimizer_;
  double base_lr_;
  std::int64_t last_epoch_ = 0;
  double last_lr_;
};

// lr = base_lr * gamma^(epoch / step_size) (integer division).
class StepLR : public LrScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  std::string_view name() const override { return "StepLR"; }
  SchedulerState state() const override;  // + step_size, gamma
  void load_state(const SchedulerState& state) override;

 protected:
  double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
class CosineAnnealingLR : public LrScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  std::string_view name() const override { return "CosineAnnealingLR"; }
  SchedulerState state() const override;  // + T_max, eta_min
  void load_state(const SchedulerState& state) override;

 protected:
  double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

// Multiplies the learning rate by `factor` (never below min_lr) when the metric has not improved for
// more than `patience` epochs, then waits `cooldown` epochs before counting again. "Improved" means
// below best*(1-threshold) in "min" mode, above best*(1+threshold) in "max" mode (threshold_mode
// "rel"), or below best-threshold / above best+threshold ("abs"). Changes smaller than eps are skipped.
class ReduceLROnPlateau : public LrScheduler {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, std::string_view mode = "min", double factor = 0.1,
                    std::int64_t patience = 10, double threshold = 1e-4, std::int64_t cooldown = 0,
                    double min_lr = 0.0, std::string_view threshold_mode = "rel", double eps = 1e-8);
  // ValueError: the plateau schedule needs a metric.
  void step() override;
  void step(double metric) override;
  void restart() override;
  std::string_view name() const override { return "ReduceLROnPlateau"; }

  double best() const { return best_; }  // +inf ("min") or -inf ("max") before the first metric
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }

  // + mode_max, factor, patience, threshold, threshold_abs, cooldown, min_lr, eps, num_bad_epochs,
  // cooldown_counter, and best (omitted while there is none, so every value stays finite).
  SchedulerState state() const override;
  void load_state(const SchedulerState& state) override;

 private:
  bool is_better(double metric) const;
  double worst() const;

  bool mode_max_, threshold_abs_;
  double factor_, threshold_, min_lr_, eps_;
  std::int64_t patience_, cooldown_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

// Linear warm-up over the first `warmup_steps` optimizer steps, scaling the rate of the epoch schedule
// `after` (or the constant base rate when null). Before optimizer step s (0-based, over the whole run):
//   s < warmup_steps:   lr = after's rate * (s + 1) / warmup_steps
//   s == warmup_steps:  lr = after's rate (the last warm-up step's scaling undone)
// `after` runs its epochs meanwhile: step() and step(metric) go to it unchanged. The warm-up keeps no
// state of its own (its position is the step count the caller passes), so state() and load_state() are
// exactly after's (none without it): a checkpoint does not depend on whether the run warms up.
class LinearWarmup : public LrScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps, std::unique_ptr<LrScheduler> after = nullptr);
  void before_step(std::int64_t step) override;
  void step() override;
  void step(double metric) override;
  void restart() override;
  std::string_view name() const override { return "LinearWarmup"; }
  LrScheduler* after() const { return after_.get(); }
  std::int64_t warmup_steps() const { return warmup_steps_; }

  SchedulerState state() const override;
  void load_state(const SchedulerState& state) override;

 private:
  double scheduled_lr() const { return after_ ? after_->last_lr() : base_lr_; }
  void follow_after();  // last_lr_ and last_epoch_ from after's

  std::int64_t warmup_steps_;
  std::unique_ptr<LrScheduler> after_;
};

}  // namespace bend::optim

namespace bend {
using optim::CosineAnnealingLR;
using optim::LinearWarmup;
using optim::LrScheduler;
using optim::ReduceLROnPlateau;
using optim::SchedulerState;
using optim::StepLR;
}  // namespace bend
