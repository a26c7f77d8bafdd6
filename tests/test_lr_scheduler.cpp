// Learning-rate schedules: the lr sequence over epochs against PyTorch's (constants below), plateau
// patience and cool-down, warm-up, checkpoint state round trips, and argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>

#include "bend/bend.hpp"
#include "bend/optim/lr_scheduler.hpp"
#include "bend/optim/sgd.hpp"

using namespace bend;
using Catch::Matchers::Contains;

namespace {

// clang-format off
// Produced by scripts/torch_optim_reference.py with PyTorch 1.13.0a0.
const std::vector<double> kTorch_step_lr = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001};
const std::vector<double> kTorch_cosine = {0.10000000000000001, 0.091405764746872634, 0.068905764746872628, 0.041094235253127359, 0.018594235253127367, 0.01, 0.018594235253127367, 0.041094235253127387, 0.068905764746872669, 0.091405764746872689, 0.10000000000000006, 0.091405764746872717, 0.068905764746872683, 0.041094235253127401};
const std::vector<double> kTorch_plateau_min = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02};
const std::vector<double> kTorch_plateau_max_abs = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 1.0000000000000004e-05, 1.0000000000000004e-05};
const std::vector<double> kTorch_warmup_cosine = {0.025000000000000001, 0.050000000000000003, 0.075000000000000011, 0.10000000000000001, 0.093301270189221949, 0.075000000000000011, 0.050000000000000003, 0.025000000000000012, 0.006698729810778065, 0, 0.006698729810778065, 0.025000000000000001};
const std::vector<double> kTorch_warmup_step = {0.020000000000000004, 0.040000000000000008, 0.060000000000000012, 0.080000000000000016, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001};
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
      {"LinearWarmup then cosine",
       [](Optimizer& o) {
         return std::make_unique<LinearWarmup>(o, 3, std::make_unique<CosineAnnealingLR>(o, 6));
       },
       kTorch_warmup_cosine, nullptr},
      {"LinearWarmup then StepLR",
       [](Optimizer& o) { return std::make_unique<LinearWarmup>(o, 4, std::make_unique<StepLR>(o, 2, 0.5)); },
       kTorch_warmup_step, nullptr},
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

TEST_CASE("warm-up ramps linearly and then hands over", "[optim][lr_scheduler]") {
  SECTION("default start: base/(N+1) steps, then constant") {
    Fixture f;
    LinearWarmup w(f.opt, 4);
    check_sequence(lr_sequence(f.opt, w, 7), {0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.1});
  }
  SECTION("explicit start factor 0 starts at zero") {
    Fixture f;
    LinearWarmup w(f.opt, 4, nullptr, 0.0);
    check_sequence(lr_sequence(f.opt, w, 6), {0.0, 0.025, 0.05, 0.075, 0.1, 0.1});
  }
  SECTION("no warm-up is the wrapped schedule itself") {
    Fixture f;
    LinearWarmup w(f.opt, 0, std::make_unique<StepLR>(f.opt, 3, 0.5));
    check_sequence(lr_sequence(f.opt, w, kTorch_step_lr.size()), kTorch_step_lr);
  }
  SECTION("metrics during warm-up are ignored by a wrapped plateau schedule") {
    Fixture f;
    LinearWarmup w(f.opt, 3, std::make_unique<ReduceLROnPlateau>(f.opt, "min", 0.5, 0));
    std::vector<double> metrics = {5, 6, 7, 1, 1, 1};
    check_sequence(lr_sequence(f.opt, w, metrics.size(), &metrics), {0.025, 0.05, 0.075, 0.1, 0.1, 0.05});
    const auto& plateau = dynamic_cast<const ReduceLROnPlateau&>(*w.after());
    CHECK(plateau.best() == 1.0);
    CHECK_THROWS_AS(w.step(), ValueError);  // after warm-up, the plateau schedule needs its metric
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
  CHECK_THROWS_WITH(LinearWarmup(f.opt, 3, nullptr, 1.5), Contains("start_factor"));
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
  CHECK(state.contains("after.gamma"));
  state["after.bogus"] = 1;
  CHECK_THROWS_WITH(w.load_state(state), Contains("'bogus'"));
  LinearWarmup bare(f.opt, 2);
  CHECK_THROWS_WITH(bare.load_state(w.state()), Contains("wraps no schedule"));
}
