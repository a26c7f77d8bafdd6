#pragma once
// bend lab dying-relu: dead hidden units after plain SGD with growing learning rates, and with the
// hidden biases shifted negative at init, for ReLU against its leaky and smooth variants. A unit is
// dead when its activation's derivative is zero on every probe image (train::diagnose).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/train/diagnostics.hpp"

namespace bend::lab {

// Dead units over all hidden layers of a diagnosis (0 when there are none).
double dead_fraction_overall(const train::Diagnostics& d);

struct DyingReluRun {
  std::string act;
  double lr = 0;
  float shift = 0;                         // added to every hidden bias at init
  double dead_init = 0, dead_trained = 0;  // over all hidden units
  std::vector<double> dead_layers;         // per hidden layer, after training
  double accuracy = 0;                     // final test accuracy
  bool diverged = false;
};

struct DyingReluExperiment {
  std::vector<float> shifts;       // 0, then bias_shift when it is not 0
  std::vector<DyingReluRun> runs;  // shift-major, then activation, then learning rate
};

// For every shift, activation and learning rate: `sizes` with that activation (init Auto from
// Rng(settings.seed), hidden biases shifted), dead units on `probe` at init, SGD training with
// `settings` at that learning rate, dead units again. on_run sees each run as it finishes.
DyingReluExperiment run_dying_relu(const std::vector<std::int64_t>& sizes,
                                   const std::vector<std::string>& acts, const std::vector<double>& lrs,
                                   float bias_shift, TrainSettings settings, const TensorDataset& train,
                                   const TensorDataset& test, const TensorDataset& probe,
                                   const std::function<void(const DyingReluRun&)>& on_run = {});

}  // namespace bend::lab
