#pragma once
// The paired t-test: two methods measured on the same units (in `bend compare`, the same seed gives
// both activations the same initial draw of the data order), compared through the per-unit differences.
// Pairing removes the seed-to-seed variation the two share, so it resolves smaller gaps than comparing
// two independent means.
#include <span>

namespace bend::stats {

struct PairedComparison {
  int n = 0;                   // pairs
  double mean_difference = 0;  // mean of a_i - b_i (0 when n == 0)
  // The fields below are meaningful only when enough_pairs() (n >= 2).
  double std_difference = 0;       // sample std of the differences
  double ci_low = 0, ci_high = 0;  // t interval of the mean difference
  double t = 0;                    // mean / (std / sqrt(n)); 0 when the differences have no spread
  double df = 0;                   // n - 1
  // Two-sided p-value of "mean difference = 0". 1 (no evidence) when there are fewer than 2 pairs.
  double p_value = 1;
  double confidence = 0.95;
  // Every difference is the same value. Then the interval has zero width and the test degenerates:
  // p = 1 when that value is 0 up to rounding (the methods agree on every unit), p = 0 otherwise (every unit
  // shows the same non-zero gap, the limit of t -> infinity). With accuracies quantised to 1 / test size this
  // does happen at a handful of seeds; reports should say so next to the p-value.
  bool zero_variance = false;

  bool enough_pairs() const { return n >= 2; }
};

// Compares a with b pairwise (a[i] with b[i]). Throws ValueError when the lengths differ or a value is
// not finite. Fewer than 2 pairs is not an error: the result has enough_pairs() false and p_value 1.
PairedComparison paired_t_test(std::span<const double> a, std::span<const double> b,
                               double confidence = 0.95);

}  // namespace bend::stats
