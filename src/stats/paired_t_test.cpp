// The paired t-test (see bend/stats/paired_t_test.hpp).
#include "bend/stats/paired_t_test.hpp"

#include <fmt/format.h>
#include <cmath>
#include <vector>

#include "bend/error.hpp"
#include "bend/stats/sample_summary.hpp"
#include "bend/stats/student_t.hpp"

namespace bend::stats {

PairedComparison paired_t_test(std::span<const double> a, std::span<const double> b, double confidence) {
  if (a.size() != b.size())
    throw ValueError(
        fmt::format("paired_t_test: the samples must pair up, got {} and {} values", a.size(), b.size()));
  std::vector<double> differences(a.size());
  double magnitude = 0;  // largest |value|, the scale of rounding in the differences
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i]))
      throw ValueError(fmt::format("paired_t_test: pair {} is not finite ({}, {})", i, a[i], b[i]));
    differences[i] = a[i] - b[i];
    magnitude = std::fmax(magnitude, std::fmax(std::fabs(a[i]), std::fabs(b[i])));
  }
  PairedComparison result;
  result.n = static_cast<int>(differences.size());
  result.confidence = confidence;
  if (differences.empty()) return result;
  const SampleSummary s = summarize_sample(differences, confidence);
  result.mean_difference = s.mean;
  if (!s.has_spread()) return result;
  result.df = s.n - 1;
  result.std_difference = s.std;
  result.ci_low = s.ci_low;
  result.ci_high = s.ci_high;
  // "No spread" up to rounding: differences such as 0.9786 - 0.9771 and 0.9801 - 0.9786 are the same
  // number of test samples but differ in the last bits of a double.
  if (s.std <= 1e-12 * magnitude) {
    result.zero_variance = true;
    result.std_difference = 0;
    result.ci_low = result.ci_high = s.mean;
    result.p_value = std::fabs(s.mean) <= 1e-12 * magnitude ? 1.0 : 0.0;
    return result;
  }
  result.t = s.mean / (s.std / std::sqrt(static_cast<double>(s.n)));
  result.p_value = student_t_two_sided_p(result.t, result.df);
  return result;
}

}  // namespace bend::stats
