#pragma once
// bend lab xor: a linear model cannot fit XOR; one hidden layer with a nonlinearity can (train_xor in
// bend/lab/experiments.hpp trains one net).
#include <cstdint>
#include <string>
#include <vector>

#include "bend/lab/experiments.hpp"

namespace bend::lab {

// The lowest MSE a linear model reaches on XOR: the least-squares plane through (0,0)->0, (0,1)->1,
// (1,0)->1, (1,1)->0 is the constant 0.5, which misses every target by 0.5.
inline constexpr double kXorLinearBestMse = 0.25;

// XorResult::mse_curve holds the loss of every kXorCurveStride-th step (step 0, 10, 20, ...): enough
// points for a chart of a few thousand steps.
inline constexpr std::int64_t kXorCurveStride = 10;

// The linear model (no hidden activation) first, then one net per activation in `acts`, all
// 2-hidden-1 with full-batch Adam for `steps` steps at `lr` from the same seed.
std::vector<XorResult> run_xor(const std::vector<std::string>& acts, std::int64_t hidden, std::int64_t steps,
                               double lr, std::uint64_t seed);

}  // namespace bend::lab
