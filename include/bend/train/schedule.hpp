#pragma once
// The trainer's learning-rate plan: an epoch-level scheduler (StepLR, CosineAnnealingLR,
// ReduceLROnPlateau from bend/optim/lr_scheduler.hpp, stepped after each epoch as in PyTorch) and an
// optional linear warm-up over the first optimizer steps, which scales whatever rate the scheduler
// has set.
#include <cstdint>
#include <memory>
#include <string_view>

#include "bend/optim/lr_scheduler.hpp"

namespace bend::train {

class LrSchedule {
 public:
  LrSchedule(std::unique_ptr<LrScheduler> per_epoch, double base_lr, std::int64_t warmup_steps);
  // Before optimizer step number `step` (0-based): applies the warm-up factor.
  void before_step(Optimizer& opt, std::int64_t step);
  // After `epochs_done` epochs, with the epoch's validation loss (used by "plateau").
  void after_epoch(Optimizer& opt, std::int64_t epochs_done, double metric);
  SchedulerState state() const;
  void load_state(const SchedulerState& state);

 private:
  double scheduled_lr() const { return per_epoch_ ? per_epoch_->last_lr() : base_lr_; }
  std::unique_ptr<LrScheduler> per_epoch_;
  double base_lr_;
  std::int64_t warmup_steps_;
};

// name: none | step (×0.1 every third of the run) | cosine (to 0 over the run) | plateau (×0.1 after 2
// epochs without improvement).
std::unique_ptr<LrSchedule> make_lr_schedule(std::string_view name, Optimizer& opt, std::int64_t epochs,
                                             std::int64_t warmup_steps);

}  // namespace bend::train
