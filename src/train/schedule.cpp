// The trainer's learning-rate plan (see bend/train/schedule.hpp).
#include "bend/train/schedule.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::train {

LrSchedule::LrSchedule(std::unique_ptr<LrScheduler> per_epoch, double base_lr, std::int64_t warmup_steps)
    : per_epoch_(std::move(per_epoch)), base_lr_(base_lr), warmup_steps_(warmup_steps) {}

void LrSchedule::before_step(Optimizer& opt, std::int64_t step) {
  if (warmup_steps_ <= 0 || step > warmup_steps_) return;
  const double factor = std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup_steps_));
  opt.set_lr(scheduled_lr() * factor);
}

void LrSchedule::after_epoch(Optimizer& opt, std::int64_t, double metric) {
  if (!per_epoch_) return;
  if (per_epoch_->name() == "ReduceLROnPlateau")
    per_epoch_->step(metric);
  else
    per_epoch_->step();
  (void)opt;
}

SchedulerState LrSchedule::state() const { return per_epoch_ ? per_epoch_->state() : SchedulerState{}; }
void LrSchedule::load_state(const SchedulerState& state) {
  if (per_epoch_) per_epoch_->load_state(state);
}

std::unique_ptr<LrSchedule> make_lr_schedule(std::string_view name, Optimizer& opt, std::int64_t epochs,
                                             std::int64_t warmup_steps) {
  const double base = opt.lr();
  std::unique_ptr<LrScheduler> s;
  if (name == "step")
    s = std::make_unique<StepLR>(opt, std::max<std::int64_t>(1, epochs / 3), 0.1);
  else if (name == "cosine")
    s = std::make_unique<CosineAnnealingLR>(opt, std::max<std::int64_t>(1, epochs), 0.0);
  else if (name == "plateau")
    s = std::make_unique<ReduceLROnPlateau>(opt, "min", 0.1, 2);
  else if (name != "none")
    throw ValueError(fmt::format("--schedule '{}': expected none, step, cosine or plateau", name));
  return std::make_unique<LrSchedule>(std::move(s), base, warmup_steps);
}

}  // namespace bend::train
