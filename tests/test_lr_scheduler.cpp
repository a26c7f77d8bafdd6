// Learning-rate schedules: the lr sequence over epochs against PyTorch's (constants below), plateau
// patience and cool-down, warm-up, checkpoint state round trips, and argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>

#include "bend/bend.hpp"
#include "bend/optim/lr_scheduler.hpp"
#include "bend/optim/sgd.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::optim;  // the optimizers and schedulers, as torch::optim
using Catch::Matchers::Contains;

namespace {

// clang-format off
// Produced by scripts/torch_optim_reference.py with PyTorch 1.13.0a0.
const std::vector<double> kTorch_step_lr = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001};
const std::vector<double> kTorch_cosine = {0.10000000000000001, 0.091405764746872634, 0.068905764746872628, 0.041094235253127359, 0.018594235253127367, 0.01, 0.018594235253127367, 0.041094235253127387, 0.068905764746872669, 0.091405764746872689, 0.10000000000000006, 0.091405764746872717, 0.068905764746872683, 0.041094235253127401};
const std::vector<double> kTorch_plateau_min = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02};
const std::vector<double> kTorch_plateau_max_abs = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 1.0000000000000004e-05, 1.0000000000000004e-05};
// clang-format on
// Metric sequences fed to ReduceLROnPlateau (the same as in scripts/torch_optim_reference.py).
const std::vector<double> kMetricsMin = {1.0, 0.9, 0.9, 0.95, 0.91, 0.85, 0.86, 0.87, 0.87, 0.8,
                                         0.8, 0.8, 0.8, 0.8,  0.8,  0.8,  0.8,  0.8,  0.8,  0.8};
const std::vector<double> kMetricsMax = {0.1, 0.2, 0.25, 0.2505, 0.24, 0.3, 0.3,
                                         0.3, 0.3, 0.31, 0.3,    0.3,  0.3, 0.3};

struct Fixture {
  Tensor p = Tensor::zeros({1}).requires_grad_();
  SGD opt{{p}, 0.1};
};

using MakeScheduler = std::function<std::unique_ptr<LrScheduler>(Optimizer&)>;

// The learning rate in force during epochs 0 .. epochs-1, stepping at the end of each epoch.
std::vector<double> lr_sequence(Optimizer& opt, LrScheduler& sched, std::size_t epochs,
                                const std::vector<double>* metrics = nullptr) {
  std::vector<double> lrs;
  for (std::size_t e = 0; e < epochs; ++e) {
    lrs.push_back(opt.lr());
    CHECK(sched.last_lr() == opt.lr());
    if (metrics)
      sched.step((*metrics)[e]);
    else
      sched.step();
  }
  return lrs;
}

void check_sequence(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t e = 0; e < actual.size(); ++e) {
    INFO("epoch " << e << ": got " << actual[e] << ", expected " << expected[e]);
    CHECK(std::abs(actual[e] - expected[e]) <= 1e-15 + 1e-12 * std::abs(expected[e]));
  }
}

}  // namespace

TEST_CASE("schedules give PyTorch's learning rates epoch by epoch", "[optim][lr_scheduler]") {
  struct Case {
    const char* name;
    MakeScheduler make;
    const std::vector<double>& torch;
    const std::vector<double>* metrics;
  };
  const Case cases[] = {
      {"StepLR", [](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); }, kTorch_step_lr, nullptr},
      {"CosineAnnealingLR, past T_max",
       [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 5, 0.01); }, kTorch_cosine, nullptr},
      {"ReduceLROnPlateau min, patience, cool-down, min_lr",
       [](Optimizer& o) { return std::make_unique<ReduceLROnPlateau>(o, "min", 0.5, 2, 1e-4, 1, 0.02); },
       kTorch_plateau_min, &kMetricsMin},
      {"ReduceLROnPlateau max, absolute threshold",
       [](Optimizer& o) {
         return std::make_unique<ReduceLROnPlateau>(o, "max", 0.1, 1, 0.01, 0, 0.0, "abs");
       },
       kTorch_plateau_max_abs, &kMetricsMax},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      Fixture f;
      auto sched = c.make(f.opt);
      CHECK(sched->base_lr() == 0.1);
      check_sequence(lr_sequence(f.opt, *sched, c.torch.size(), c.metrics), c.torch);
      CHECK(sched->last_epoch() == static_cast<std::int64_t>(c.torch.size()));
    }
  }
}

TEST_CASE("ReduceLROnPlateau counts bad epochs and cools down", "[optim][lr_scheduler]") {
  Fixture f;
  ReduceLROnPlateau sched(f.opt, "min", 0.5, /*patience=*/2, /*threshold=*/0.1, /*cooldown=*/2);
  sched.step(1.0);  // best 1.0
  CHECK(sched.best() == 1.0);
  sched.step(0.95);  // not 10% better: bad epoch 1
  CHECK(sched.num_bad_epochs() == 1);
  CHECK(sched.best() == 1.0);
  sched.step(0.95);  // bad 2
  CHECK(f.opt.lr() == 0.1);
  sched.step(0.95);  // bad 3 > patience: reduce, cool down for 2 epochs
  CHECK(f.opt.lr() == 0.05);
  CHECK(sched.cooldown_counter() == 2);
  CHECK(sched.num_bad_epochs() == 0);
  sched.step(2.0);  // in cool-down: not counted
  sched.step(2.0);
  CHECK(sched.cooldown_counter() == 0);
  CHECK(sched.num_bad_epochs() == 0);
  sched.step(2.0);
  sched.step(2.0);
  CHECK(f.opt.lr() == 0.05);
  sched.step(0.5);  // a real improvement resets the count
  CHECK(sched.num_bad_epochs() == 0);
  CHECK(sched.best() == 0.5);
  for (int i = 0; i < 3; ++i) sched.step(0.5);
  CHECK(f.opt.lr() == 0.025);
  CHECK_THROWS_WITH(sched.step(), Contains("needs the epoch's metric"));
}

TEST_CASE("ReduceLROnPlateau reduces from the optimizer's current rate and stops at min_lr",
          "[optim][lr_scheduler]") {
  Fixture f;
  ReduceLROnPlateau sched(f.opt, "min", 0.1, 0, 1e-4, 0, 1e-3);
  f.opt.set_lr(0.2);  // changed by hand: the plateau schedule reduces whatever is current
  sched.step(1.0);
  sched.step(1.0);
  CHECK(f.opt.lr() == Approx(0.02));
  sched.step(1.0);
  CHECK(f.opt.lr() == Approx(0.002));
  sched.step(1.0);
  CHECK(f.opt.lr() == 1e-3);
  sched.step(1.0);
  CHECK(f.opt.lr() == 1e-3);
}

// The rate before each of `steps` optimizer steps, with `steps_per_epoch` steps per epoch and the epoch's
// schedule stepped after each (with metric 1.0): the Trainer's calls.
std::vector<double> per_step_lrs(Optimizer& opt, LrScheduler& sched, std::int64_t steps,
                                 std::int64_t steps_per_epoch) {
  std::vector<double> lrs;
  for (std::int64_t s = 0; s < steps; ++s) {
    sched.before_step(s);
    lrs.push_back(opt.lr());
    if ((s + 1) % steps_per_epoch == 0) sched.step(1.0);
  }
  return lrs;
}

TEST_CASE("warm-up ramps linearly over optimizer steps, scaling the epoch schedule",
          "[optim][lr_scheduler]") {
  SECTION("alone: (s+1)/N of the base rate, then the base rate") {
    Fixture f;
    LinearWarmup w(f.opt, 4);
    check_sequence(per_step_lrs(f.opt, w, 7, 100), {0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1});
    CHECK(w.state().empty());  // a constant rate has no state
  }
  SECTION("the epoch schedule runs during the warm-up, which scales it") {
    Fixture f;
    // StepLR halves after every epoch of 2 steps; warm-up over 5 steps.
    LinearWarmup w(f.opt, 5, std::make_unique<StepLR>(f.opt, 1, 0.5));
    check_sequence(per_step_lrs(f.opt, w, 8, 2),
                   {0.1 * 1 / 5, 0.1 * 2 / 5, 0.05 * 3 / 5, 0.05 * 4 / 5, 0.025, 0.025, 0.0125, 0.0125});
    CHECK(w.last_epoch() == 4);
    CHECK(w.state() == w.after()->state());  // its state is the epoch schedule's
  }
  SECTION("no warm-up is the wrapped schedule itself") {
    Fixture f;
    LinearWarmup w(f.opt, 0, std::make_unique<StepLR>(f.opt, 3, 0.5));
    check_sequence(lr_sequence(f.opt, w, kTorch_step_lr.size()), kTorch_step_lr);
  }
  SECTION("a wrapped plateau schedule gets every epoch's metric") {
    Fixture f;
    LinearWarmup w(f.opt, 3, std::make_unique<ReduceLROnPlateau>(f.opt, "min", 0.5, 0));
    w.step(5.0);
    w.step(6.0);  // worse than 5: reduced (patience 0)
    CHECK(f.opt.lr() == 0.05);
    CHECK(dynamic_cast<const ReduceLROnPlateau&>(*w.after()).best() == 5.0);
    CHECK_THROWS_AS(w.step(), ValueError);  // the plateau schedule needs its metric
  }
  SECTION("step(metric) on a schedule without metrics is step()") {
    Fixture f;
    StepLR s(f.opt, 1, 0.5);
    s.step(123.0);
    CHECK(f.opt.lr() == 0.05);
  }
}

TEST_CASE("scheduler state round trips continue the same sequence", "[optim][lr_scheduler]") {
  const MakeScheduler makers[] = {
      [](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); },
      [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 5, 0.01); },
      [](Optimizer& o) { return std::make_unique<ReduceLROnPlateau>(o, "min", 0.5, 2, 1e-4, 1, 0.02); },
      [](Optimizer& o) {
        return std::make_unique<LinearWarmup>(o, 2, std::make_unique<ReduceLROnPlateau>(o, "min", 0.5, 1));
      },
      [](Optimizer& o) {
        return std::make_unique<LinearWarmup>(o, 3, std::make_unique<CosineAnnealingLR>(o, 6));
      },
  };
  for (const MakeScheduler& make : makers) {
    for (std::size_t split : {0u, 1u, 4u, 9u}) {
      Fixture a;
      auto uninterrupted = make(a.opt);
      INFO(uninterrupted->name() << " saved after epoch " << split);
      const std::vector<double> full = lr_sequence(a.opt, *uninterrupted, kMetricsMin.size(), &kMetricsMin);

      Fixture b;
      auto first = make(b.opt);
      std::vector<double> metrics_before(kMetricsMin.begin(), kMetricsMin.begin() + split);
      lr_sequence(b.opt, *first, split, &metrics_before);
      const SchedulerState saved = first->state();
      for (const auto& [key, value] : saved) CHECK(std::isfinite(value));

      Fixture c;  // a fresh run with a different base rate, restored from the checkpoint
      c.opt.set_lr(0.7);
      auto resumed = make(c.opt);
      resumed->load_state(saved);
      CHECK(c.opt.lr() == b.opt.lr());
      CHECK(resumed->state() == saved);
      std::vector<double> metrics_after(kMetricsMin.begin() + split, kMetricsMin.end());
      std::vector<double> rest = lr_sequence(c.opt, *resumed, metrics_after.size(), &metrics_after);
      CHECK(std::equal(rest.begin(), rest.end(), full.begin() + split));
    }
  }
}

TEST_CASE("scheduler arguments and states are validated", "[optim][lr_scheduler][errors]") {
  Fixture f;
  CHECK_THROWS_WITH(StepLR(f.opt, 0), Contains("step_size") && Contains("0"));
  CHECK_THROWS_WITH(CosineAnnealingLR(f.opt, 0), Contains("T_max"));
  CHECK_THROWS_WITH(CosineAnnealingLR(f.opt, 5, -1.0), Contains("eta_min"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(f.opt, "lowest"), Contains("unknown mode 'lowest'"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(f.opt, "min", 1.0), Contains("factor") && Contains("1"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(f.opt, "min", 0.1, -1), Contains("patience"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(f.opt, "min", 0.1, 10, 1e-4, 0, 0.0, "percent"),
                    Contains("threshold_mode 'percent'"));
  CHECK_THROWS_WITH(LinearWarmup(f.opt, -1), Contains("warmup_steps"));
  Fixture other;
  CHECK_THROWS_WITH(LinearWarmup(f.opt, 3, std::make_unique<StepLR>(other.opt, 2)),
                    Contains("different optimizer"));

  StepLR s(f.opt, 2);
  SchedulerState state = s.state();
  state["bogus"] = 1;
  CHECK_THROWS_WITH(s.load_state(state), Contains("unknown scheduler state entry 'bogus'"));
  state = s.state();
  state.erase("gamma");
  CHECK_THROWS_WITH(s.load_state(state), Contains("no 'gamma'"));
  state = s.state();
  state["last_epoch"] = 2.5;
  CHECK_THROWS_WITH(s.load_state(state), Contains("last_epoch"));
  state = s.state();
  state["step_size"] = 0;
  CHECK_THROWS_WITH(s.load_state(state), Contains("step_size"));
  CHECK(s.state() == StepLR(f.opt, 2).state());  // unchanged by the failed loads

  LinearWarmup w(f.opt, 2, std::make_unique<StepLR>(f.opt, 2));
  state = w.state();
  CHECK(state.contains("gamma"));  // the wrapped StepLR's keys, unprefixed
  state["bogus"] = 1;
  CHECK_THROWS_WITH(w.load_state(state), Contains("'bogus'"));
  LinearWarmup bare(f.opt, 2);
  CHECK_THROWS_WITH(bare.load_state(w.state()), Contains("unknown scheduler state entry"));
}

TEST_CASE("the trainer's schedule table: every entry builds, names are listed once",
          "[optim][lr_scheduler]") {
  std::vector<std::string> names;
  for (const train::ScheduleEntry& e : train::schedule_registry()) {
    INFO(e.name);
    names.push_back(e.name);
    CHECK_FALSE(e.help.empty());
    Fixture f;
    auto schedule = train::make_lr_schedule(e.name, f.opt, 6, 2);
    CHECK(schedule->name() == "LinearWarmup");
    schedule->before_step(0);
    CHECK(f.opt.lr() == Approx(0.05));  // half of the base rate: warm-up step 1 of 2
    // Its state is the epoch schedule's: none for "none", the scheduler's keys otherwise.
    CHECK(schedule->state().empty() == (e.name == "none"));
  }
  CHECK(names == std::vector<std::string>{"none", "step", "cosine", "plateau"});
  CHECK(train::schedule_names() == "none | step | cosine | plateau");
  CHECK_THROWS_WITH(train::find_schedule("linear"),
                    Contains("--schedule 'linear'") && Contains("none | step | cosine | plateau"));
  CHECK(train::find_schedule("cosine").planned_over_epochs);
  CHECK_FALSE(train::find_schedule("plateau").planned_over_epochs);
}

}  // namespace BEND_UNITY_ID
