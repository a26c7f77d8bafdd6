#pragma once
// bend lab dying-relu: a kill event (a bad init: a fraction of the first hidden layer's units start with
// a large negative bias) silences units; training then goes on at a sane learning rate. A ReLU unit that
// is silent (pre-activation <= 0) on every training image gets no gradient at all and stays dead; Leaky
// ReLU, ELU and GELU units still get a gradient there, so they can come back.
#include <cstdint>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/lab/experiments.hpp"

namespace bend::lab {

// The verdict's thresholds. The kill worked when ReLU starts with at least kKillWorked of the units it
// was meant to kill silent; ReLU's units stay dead when at least kStayDead of those are still silent at
// every epoch, and the kill costs ReLU at least kAccuracyLostPoints of accuracy against a healthy ReLU
// net (no kill). A remedy's units recover when at most kRecovered of them are still silent at the end,
// and its accuracy returns when it wins back at least kAccuracyReturned of what the kill cost ReLU.
inline constexpr double kKillWorked = 0.95;
inline constexpr double kStayDead = 1.0;
inline constexpr double kAccuracyLostPoints = 2.0;
inline constexpr double kRecovered = 0.5;
inline constexpr double kAccuracyReturned = 0.5;

struct DyingReluRun {
  std::string act;
  bool killed = false;  // false: the healthy reference (no kill event)
  // Fraction of the first hidden layer's units silent (pre-activation <= 0) on every measuring image:
  // [0] right after the kill, then after each epoch. For ReLU these are exactly the dead units
  // (derivative 0 on every input).
  std::vector<double> silent;
  std::vector<std::vector<double>> silent_layers;  // per hidden layer, same indexing
  std::vector<double> accuracy;                    // test accuracy after each epoch
  // Mean |dLoss/dbias| over the killed units right after the kill, on the measuring images: exactly 0
  // for ReLU (no gradient flows in), > 0 where the negative side has a slope.
  double killed_bias_grad = 0;
  bool diverged = false;
  double final_accuracy() const { return accuracy.empty() ? 0.0 : accuracy.back(); }
};

// Fraction of the hidden units of `net` (Linear + activation pairs) whose pre-activation is <= 0 on
// every row of images; per hidden layer in `per_layer` when given.
double silent_fraction(nn::Sequential& net, const Tensor& images, std::vector<double>* per_layer = nullptr);

// Builds `sizes` with `act` (He init from Rng(settings.seed)); when kill_fraction > 0 sets the bias of
// that fraction of the first hidden layer's units (chosen at random) to kill_bias; measures, trains with
// `settings` on train/test and counts silent units on `measure` after every epoch.
DyingReluRun run_dying_relu(const std::vector<std::int64_t>& sizes, const std::string& act,
                            double kill_fraction, float kill_bias, const TrainSettings& settings,
                            const TensorDataset& train, const TensorDataset& test,
                            const TensorDataset& measure);

}  // namespace bend::lab
