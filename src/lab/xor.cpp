// bend lab xor (see bend/lab/xor.hpp).
#include "bend/lab/xor.hpp"

namespace bend::lab {

std::vector<XorResult> run_xor(const std::vector<std::string>& acts, std::int64_t hidden, std::int64_t steps,
                               double lr, std::uint64_t seed) {
  std::vector<XorResult> results;
  results.push_back(train_xor("", hidden, steps, lr, seed));
  for (const auto& a : acts) results.push_back(train_xor(a, hidden, steps, lr, seed));
  return results;
}

}  // namespace bend::lab
