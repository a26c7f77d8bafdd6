#pragma once
// bend lab collapse: a stack of Linear layers without activations is one Linear (the product matrix,
// collapse_linear_stack in bend/lab/experiments.hpp), and it trains like logistic regression, while
// one hidden layer with a nonlinearity does better.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/lab/experiments.hpp"

namespace bend::lab {

// The verdict's thresholds: the stack's product matrix matches it to float32 rounding, the stack's
// accuracy is a linear model's, and one bend does better.
inline constexpr double kCollapseMaxDifference = 1e-4;
inline constexpr double kCollapseAccuracyPoints = 2.0;  // |stack - logistic regression|, in points
inline constexpr double kCollapseBendGainPoints = 1.0;  // one hidden layer with a bend over the stack

struct CollapseModel {
  std::string
      name;  // "logistic regression 784-10", "linear stack 784-256-128-10", "784-256-10 with one relu"
  std::int64_t parameters = 0;
  TrainOutcome outcome;
};

struct CollapseExperiment {
  CollapseCheck before;               // the linear stack at init, on the probe images
  CollapseCheck after;                // the same stack after training
  std::vector<CollapseModel> models;  // logistic regression, the linear stack, one hidden layer with `act`
};

// Builds the Linear stack of `sizes` (PyTorch's init) and checks its product matrix on probe.images
// (reported through on_checked before any training), then trains logistic regression
// sizes.front()-sizes.back(), the stack, and sizes.front()-sizes[1]-sizes.back() with `act` (a table
// name) with `settings`, and checks the trained stack again. All models draw from one Rng(settings.seed).
CollapseExperiment run_collapse(const std::vector<std::int64_t>& sizes, std::string_view act,
                                const TrainSettings& settings, const TensorDataset& train,
                                const TensorDataset& test, const TensorDataset& probe,
                                const std::function<void(const CollapseCheck& before)>& on_checked = {});

}  // namespace bend::lab
