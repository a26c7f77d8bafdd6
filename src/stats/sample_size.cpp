// Sample size of a paired t-test (see bend/stats/sample_size.hpp).
#include "bend/stats/sample_size.hpp"

#include <fmt/format.h>
#include <cmath>

#include "bend/error.hpp"
#include "bend/stats/student_t.hpp"

namespace bend::stats {

std::optional<int> paired_sample_size(double mean_difference, double std_difference, double alpha,
                                      double power, int max_pairs) {
  if (!(alpha > 0 && alpha < 1))
    throw ValueError(fmt::format("paired_sample_size: alpha must be in (0, 1), got {}", alpha));
  if (!(power >= 0.5 && power < 1))
    throw ValueError(fmt::format("paired_sample_size: power must be in [0.5, 1), got {}", power));
  if (!std::isfinite(mean_difference) || !std::isfinite(std_difference) || std_difference < 0)
    throw ValueError(fmt::format("paired_sample_size: need a finite gap and a finite std >= 0, got {} and {}",
                                 mean_difference, std_difference));
  const double gap = std::fabs(mean_difference);
  if (gap == 0) return std::nullopt;
  if (std_difference == 0) return 2;
  const double ratio = std_difference / gap;
  // enough(n): n pairs reach the power. False for small n, true from the answer on.
  auto enough = [&](int n) {
    const double df = n - 1;
    const double z = student_t_quantile(1 - alpha / 2, df) + student_t_quantile(power, df);
    return static_cast<double>(n) >= z * z * ratio * ratio;
  };
  if (enough(2)) return 2;
  int lo = 2, hi = 4;  // enough(lo) is false
  while (!enough(hi)) {
    if (hi >= max_pairs) return std::nullopt;
    lo = hi;
    hi = hi > max_pairs / 2 ? max_pairs : 2 * hi;
  }
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    (enough(mid) ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace bend::stats
