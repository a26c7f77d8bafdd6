// Groups of indistinguishable methods in a ranking (see bend/stats/ranking_groups.hpp).
#include "bend/stats/ranking_groups.hpp"

#include <algorithm>

namespace bend::stats {

std::vector<std::vector<std::size_t>> group_ranking(
    std::span<const std::size_t> ranked,
    const std::function<bool(std::size_t, std::size_t)>& distinguishable) {
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t method : ranked) {
    const bool joins =
        !groups.empty() && std::none_of(groups.back().begin(), groups.back().end(),
                                        [&](std::size_t member) { return distinguishable(member, method); });
    if (joins)
      groups.back().push_back(method);
    else
      groups.push_back({method});
  }
  return groups;
}

}  // namespace bend::stats
