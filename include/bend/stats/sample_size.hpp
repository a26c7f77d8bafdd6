#pragma once
// How many seeds a paired comparison needs to resolve a gap: the sample size of a two-sided paired
// t-test for a target power.
#include <optional>

namespace bend::stats {

// The smallest number of pairs n >= 2 with
//   n >= ((t_{1 - alpha/2, n-1} + t_{power, n-1}) * std_difference / |mean_difference|)^2,
// found by bisection (the right side falls as n grows, so the first n that satisfies it is unique).
// This is the normal-approximation sample size with Student's t quantiles in place of the normal ones
// (the textbook iteration, e.g. Rosner's "Fundamentals of Biostatistics"), not the exact noncentral-t
// power: against the exact power it is within one pair for the cases the tests check (effect sizes
// 0.3 to 3), and never below the normal approximation.
//
// mean_difference and std_difference are the measured gap and the measured sample std of the paired
// differences; with few seeds both are rough, so the answer is an estimate of the order of magnitude, not
// a promise. Returns 2 when the differences have no spread but the gap is non-zero, and nullopt when the
// gap is 0 (no number of seeds resolves it) or the answer exceeds max_pairs. Throws ValueError for alpha
// outside (0, 1), power outside [0.5, 1), a negative or non-finite std, or a non-finite gap.
std::optional<int> paired_sample_size(double mean_difference, double std_difference, double alpha = 0.05,
                                      double power = 0.8, int max_pairs = 1000000);

}  // namespace bend::stats
