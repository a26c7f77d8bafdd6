// The schedule table (see bend/train/schedule.hpp).
#include "bend/train/schedule.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::train {

const std::vector<ScheduleEntry>& schedule_registry() {
  static const std::vector<ScheduleEntry> table = {
      {"none", "a constant learning rate (PyTorch's plain loop)", false,
       [](optim::Optimizer&, std::int64_t) -> std::unique_ptr<optim::LrScheduler> { return nullptr; }},
      {"step", "x0.1 every third of the run (StepLR)", true,
       [](optim::Optimizer& opt, std::int64_t epochs) -> std::unique_ptr<optim::LrScheduler> {
         return std::make_unique<optim::StepLR>(opt, std::max<std::int64_t>(1, epochs / 3), 0.1);
       }},
      {"cosine", "cosine decay to 0 over the run (CosineAnnealingLR)", true,
       [](optim::Optimizer& opt, std::int64_t epochs) -> std::unique_ptr<optim::LrScheduler> {
         return std::make_unique<optim::CosineAnnealingLR>(opt, std::max<std::int64_t>(1, epochs), 0.0);
       }},
      {"plateau", "x0.1 after 2 epochs without a lower test loss (ReduceLROnPlateau)", false,
       [](optim::Optimizer& opt, std::int64_t) -> std::unique_ptr<optim::LrScheduler> {
         return std::make_unique<optim::ReduceLROnPlateau>(opt, "min", 0.1, 2);
       }},
  };
  return table;
}

std::string schedule_names() {
  std::string names;
  for (const ScheduleEntry& e : schedule_registry()) names += (names.empty() ? "" : " | ") + e.name;
  return names;
}

const ScheduleEntry& find_schedule(std::string_view name) {
  for (const ScheduleEntry& e : schedule_registry())
    if (e.name == name) return e;
  throw ValueError(fmt::format("--schedule '{}': expected one of {}", name, schedule_names()));
}

std::unique_ptr<optim::LrScheduler> make_lr_schedule(std::string_view name, optim::Optimizer& opt,
                                                     std::int64_t epochs, std::int64_t warmup_steps) {
  return std::make_unique<optim::LinearWarmup>(opt, warmup_steps, find_schedule(name).make(opt, epochs));
}

}  // namespace bend::train
