#pragma once
// The trainer's learning-rate schedules, by --schedule name: one table, read by TrainConfig's checks,
// the CLI's help and the Trainer. Each entry builds an epoch schedule from bend/optim/lr_scheduler.hpp
// (stepped after each epoch, as in PyTorch); make_lr_schedule() wraps it in the one warm-up,
// optim::LinearWarmup over the first optimizer steps. The Trainer calls the result one way:
// before_step(step) before every optimizer step, step(test loss) after every epoch.
//
// Adding a schedule is one entry in src/train/schedule.cpp.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bend/optim/lr_scheduler.hpp"

namespace bend::train {

struct ScheduleEntry {
  std::string name;  // --schedule NAME
  std::string help;  // one line for help texts
  // Whether the rates depend on the planned number of epochs (a resumed run must keep --epochs then).
  bool planned_over_epochs = false;
  // The epoch schedule for a run of `epochs` epochs; nullptr: the constant base rate.
  std::function<std::unique_ptr<optim::LrScheduler>(optim::Optimizer& opt, std::int64_t epochs)> make;
};

// Every schedule, "none" first.
const std::vector<ScheduleEntry>& schedule_registry();
// The entry called `name`; ValueError naming --schedule and the valid names otherwise.
const ScheduleEntry& find_schedule(std::string_view name);
// "none | step | cosine | plateau", for help texts and messages.
std::string schedule_names();

// `name`'s epoch schedule for `epochs` epochs, under a linear warm-up over `warmup_steps` optimizer steps
// (0: none). Its state() is the epoch schedule's (empty for "none"), as checkpoints store it.
std::unique_ptr<optim::LrScheduler> make_lr_schedule(std::string_view name, optim::Optimizer& opt,
                                                     std::int64_t epochs, std::int64_t warmup_steps);

}  // namespace bend::train
