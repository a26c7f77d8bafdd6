#pragma once
// Holm's step-down correction for many comparisons (Holm 1979): controls the chance of any false
// "significant" among m tests at alpha, without assuming the tests are independent, and never rejects
// less than Bonferroni.
#include <span>
#include <vector>

namespace bend::stats {

// Adjusted p-values in the input order. With p sorted ascending, p_(1) <= ... <= p_(m):
//   adjusted_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)),
// so a hypothesis is rejected at level alpha exactly when its adjusted p-value is <= alpha, the adjusted
// values keep the order of the raw ones, and none exceeds 1. Ties keep the input order. Throws
// ValueError for a p-value outside [0, 1] or NaN.
std::vector<double> holm_adjust(std::span<const double> p_values);

}  // namespace bend::stats
