#pragma once
// Mean, sample standard deviation and Student's t confidence interval of a mean: what `bend compare`
// reports for one activation's accuracies over seeds.
#include <span>

namespace bend::stats {

// Arithmetic mean. Throws ValueError for an empty sample.
double mean(std::span<const double> values);

// Sample standard deviation with Bessel's correction (divides by n - 1). Throws ValueError for fewer
// than 2 values: one value has no spread to estimate.
double sample_std(std::span<const double> values);

struct SampleSummary {
  int n = 0;
  double mean = 0;
  // The fields below are meaningful only when has_spread() (n >= 2); otherwise they are 0.
  double std = 0;                  // sample standard deviation (n - 1)
  double ci_low = 0, ci_high = 0;  // mean -/+ t_{(1+confidence)/2, n-1} * std / sqrt(n)
  double confidence = 0.95;

  bool has_spread() const { return n >= 2; }
  double ci_half_width() const { return 0.5 * (ci_high - ci_low); }
};

// The summary of a sample of at least one value (throws ValueError for none). With one value, only
// n and mean are set. A sample with zero spread gets a zero-width interval at the mean.
SampleSummary summarize_sample(std::span<const double> values, double confidence = 0.95);

}  // namespace bend::stats
