#pragma once
// bend lab xor: a linear model cannot fit XOR; one hidden layer with a nonlinearity can (train_xor in
// bend/lab/experiments.hpp trains one net).
#include <cstdint>
#include <string>
#include <vector>

#include "bend/lab/experiments.hpp"

namespace bend::lab {

// The lowest cross-entropy a linear model reaches on XOR: by the points' symmetry the best linear
// logits are constant, P(class 1) = 0.5 everywhere, which costs ln 2 per point.
inline constexpr double kXorLinearBestLoss = 0.69314718055994531;

// The verdict: the linear model stays within this fraction of ln 2, and a net counts as solving XOR
// when it classifies all four points with a loss at most kXorSolvedLoss.
inline constexpr double kXorLinearLossFraction = 0.99;
inline constexpr double kXorSolvedLoss = 0.05;

// XorResult::loss_curve holds the loss of every kXorCurveStride-th step (step 0, 10, 20, ...): enough
// points for a chart of a few thousand steps.
inline constexpr std::int64_t kXorCurveStride = 10;

// The linear model (no hidden activation) first, then one net per activation in `acts`, all
// 2-hidden-2 with full-batch Adam for `steps` steps at `lr` from the same seed.
std::vector<XorResult> run_xor(const std::vector<std::string>& acts, std::int64_t hidden, std::int64_t steps,
                               double lr, std::uint64_t seed);

}  // namespace bend::lab
