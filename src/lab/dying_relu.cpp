// bend lab dying-relu (see bend/lab/dying_relu.hpp).
#include "bend/lab/dying_relu.hpp"

namespace bend::lab {

double dead_fraction_overall(const train::Diagnostics& d) {
  std::int64_t dead = 0, units = 0;
  for (const auto* h : d.hidden()) {
    dead += h->dead_units;
    units += h->units;
  }
  return units ? static_cast<double>(dead) / static_cast<double>(units) : 0.0;
}

DyingReluExperiment run_dying_relu(const std::vector<std::int64_t>& sizes,
                                   const std::vector<std::string>& acts, const std::vector<double>& lrs,
                                   float bias_shift, TrainSettings settings, const TensorDataset& train,
                                   const TensorDataset& test, const TensorDataset& probe,
                                   const std::function<void(const DyingReluRun&)>& on_run) {
  DyingReluExperiment result;
  result.shifts = {0.0f};
  if (bias_shift != 0.0f) result.shifts.push_back(bias_shift);
  for (float s : result.shifts)
    for (const auto& a : acts)
      for (double lr : lrs) {
        settings.lr = lr;
        Rng rng(settings.seed);
        nn::Sequential net = make_mlp(sizes, a, nn::init::Scheme::Auto, rng, s);
        DyingReluRun r{a, lr, s, dead_fraction_overall(train::diagnose(net, probe.images, probe.labels)),
                       0, {}, 0, false};
        const TrainOutcome o = fit(net, train, test, settings);
        const train::Diagnostics d = train::diagnose(net, probe.images, probe.labels);
        r.dead_trained = dead_fraction_overall(d);
        for (const auto* h : d.hidden()) r.dead_layers.push_back(h->dead_fraction);
        r.diverged = o.diverged;
        r.accuracy = o.final_test_accuracy();
        if (on_run) on_run(r);
        result.runs.push_back(std::move(r));
      }
  return result;
}

}  // namespace bend::lab
