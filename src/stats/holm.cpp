// Holm's step-down adjusted p-values (see bend/stats/holm.hpp).
#include "bend/stats/holm.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <numeric>

#include "bend/error.hpp"

namespace bend::stats {

std::vector<double> holm_adjust(std::span<const double> p_values) {
  const std::size_t m = p_values.size();
  for (std::size_t i = 0; i < m; ++i)
    if (!(p_values[i] >= 0 && p_values[i] <= 1))
      throw ValueError(fmt::format("holm_adjust: p-value {} is {}, not in [0, 1]", i, p_values[i]));
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return p_values[i] < p_values[j]; });
  std::vector<double> adjusted(m);
  double running_max = 0;  // the step-down max keeps the adjusted values monotone
  for (std::size_t rank = 0; rank < m; ++rank) {
    const double scaled = static_cast<double>(m - rank) * p_values[order[rank]];
    running_max = std::max(running_max, std::min(1.0, scaled));
    adjusted[order[rank]] = running_max;
  }
  return adjusted;
}

}  // namespace bend::stats
