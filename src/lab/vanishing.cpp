// bend lab vanishing (see bend/lab/vanishing.hpp).
#include "bend/lab/vanishing.hpp"

#include <algorithm>
#include <cmath>

namespace bend::lab {

double sigmoid_gradient_bound(std::int64_t depth) {
  return std::pow(kSigmoidMaxDerivative, static_cast<double>(depth));
}

std::vector<VanishingRun> run_vanishing(std::int64_t depth, std::int64_t width,
                                        const std::vector<std::string>& acts, nn::init::Scheme scheme,
                                        const TrainSettings& settings, const TensorDataset& train,
                                        const TensorDataset& test, const TensorDataset& probe,
                                        const std::function<void(const VanishingRun&)>& on_run) {
  std::vector<std::int64_t> sizes = {train.features()};
  for (std::int64_t i = 0; i < depth; ++i) sizes.push_back(width);
  sizes.push_back(train.num_classes);
  std::vector<VanishingRun> runs;
  for (const auto& a : acts) {
    Rng rng(settings.seed);
    nn::Sequential net = make_mlp(sizes, a, scheme, rng);
    VanishingRun r{a, train::diagnose(net, probe.images, probe.labels), {}, {}};
    r.outcome = fit(net, train, test, settings);
    r.trained = train::diagnose(net, probe.images, probe.labels);
    double sat = 0;
    const auto hidden = r.trained.hidden();
    for (const auto* h : hidden) sat += h->saturated_fraction;
    r.mean_saturated = sat / static_cast<double>(std::max<std::size_t>(1, hidden.size()));
    r.learns = !r.outcome.diverged && r.outcome.final_test_accuracy() > kLearnsOverChance / train.num_classes;
    r.forward_signal_died =
        !r.init.hidden().empty() && r.init.layers.back().weight_grad_norm < kDeadSignalGradNorm;
    if (on_run) on_run(r);
    runs.push_back(std::move(r));
  }
  return runs;
}

}  // namespace bend::lab
