#pragma once
// bend lab vanishing: per-layer weight-gradient norms of deep MLPs at init and after training, measured
// by train::diagnose on a probe batch; saturating activations make them shrink towards the input.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/nn/init.hpp"
#include "bend/train/diagnostics.hpp"

namespace bend::lab {

// sigmoid' peaks at 0.25 (at x = 0), so the backward product through `depth` sigmoid layers is at most
// 0.25^depth times the weights' gains: the docs' bound.
inline constexpr double kSigmoidMaxDerivative = 0.25;

// The verdict of the claim: sigmoid's weight gradient shrinks at least by this factor per layer on
// its way back (at init), while ReLU's per-layer factor stays in [kHealthyFactorLow, 1/kHealthyFactorLow].
inline constexpr double kVanishingFactor = 0.5;
inline constexpr double kHealthyFactorLow = 0.7;

// A run "learns" when its test accuracy is clearly above chance (1 / classes): twice chance is out of
// reach of a net whose early layers get no gradient.
inline constexpr double kLearnsOverChance = 2.0;

// An output-layer weight-gradient norm below this at init means the forward signal itself died out
// with depth (an init gain too small for the activation), not that gradients vanished on the way back:
// the output layer's gradient does not pass through any activation's derivative.
inline constexpr double kDeadSignalGradNorm = 1e-3;

// kSigmoidMaxDerivative^depth.
double sigmoid_gradient_bound(std::int64_t depth);

struct VanishingRun {
  std::string act;
  train::Diagnostics init, trained;  // on the probe batch, before and after training
  TrainOutcome outcome;
  double mean_saturated = 0;  // the trained hidden layers' saturated fractions, averaged
  bool learns = false;        // not diverged and test accuracy > kLearnsOverChance / classes
  // The output layer's gradient at init is below kDeadSignalGradNorm (and there are hidden layers).
  bool forward_signal_died = false;
};

// One net per activation: train.features() -> `depth` hidden layers of `width` -> train.num_classes,
// initialised with `scheme` from Rng(settings.seed), diagnosed on `probe` at init, trained with
// `settings`, diagnosed again. on_run sees each run as it finishes.
std::vector<VanishingRun> run_vanishing(std::int64_t depth, std::int64_t width,
                                        const std::vector<std::string>& acts, nn::init::Scheme scheme,
                                        const TrainSettings& settings, const TensorDataset& train,
                                        const TensorDataset& test, const TensorDataset& probe,
                                        const std::function<void(const VanishingRun&)>& on_run = {});

}  // namespace bend::lab
