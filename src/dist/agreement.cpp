// Agreeing on failure across ranks (bend/dist/agreement.hpp).
#include "bend/dist/agreement.hpp"

#include <optional>
#include <vector>

#include <fmt/format.h>

namespace bend::dist {

JobError::JobError(int failed_rank, int ranks, const std::string& cause)
    : Error(fmt::format("rank {} of {}: {}", failed_rank, ranks, cause)), failed_rank_(failed_rank) {}

namespace {

// One flag per rank (a sum of one-hot vectors shows who failed), then the first failing rank's words.
void settle(const World& world, const std::optional<std::string>& failure) {
  std::vector<double> failed(static_cast<std::size_t>(world.size()), 0.0);
  if (failure) failed[static_cast<std::size_t>(world.rank())] = 1.0;
  world.allreduce_sum(failed);
  for (int rank = 0; rank < world.size(); ++rank) {
    if (failed[static_cast<std::size_t>(rank)] == 0) continue;
    std::string cause = rank == world.rank() ? *failure : std::string();
    world.broadcast(cause, rank);
    throw JobError(rank, world.size(), cause);
  }
}

}  // namespace

void agree(const World& world, const std::function<void()>& action,
           std::string (*describe)(const std::exception&)) {
  if (world.size() == 1) {
    if (action) action();
    return;
  }
  std::optional<std::string> failure;
  try {
    if (action) action();
  } catch (const std::exception& e) {
    failure = describe ? describe(e) : std::string(e.what());
  }
  settle(world, failure);
}

void report_failure(const World& world, const std::string& cause) {
  if (world.size() == 1) throw Error(cause);
  settle(world, cause);
  throw JobError(world.rank(), world.size(), cause);  // (not reached: settle saw this rank's flag)
}

}  // namespace bend::dist
