#pragma once
// Agreeing on failure across the ranks of a job. A rank that throws between two collectives leaves the
// others waiting in the next one for ever; at the points where ranks can part ways (building the run,
// a file only rank 0 writes), every rank calls agree() instead, so that a failure on one rank becomes
// the same JobError on every rank, naming the rank and the cause.
//
//   dist::agree(world, [&] { if (world.is_root()) save(path); });  // every rank, at the same point
//
// A rank that failed before it reached such a point meets the others there with report_failure().
#include <exception>
#include <functional>
#include <string>

#include "bend/dist/mpi.hpp"
#include "bend/error.hpp"

namespace bend::dist {

// An error every rank of a job throws together, because they agreed on it: what() is
// "rank R of N: <cause>", the same on every rank (the CLI prints it once, on rank 0).
class JobError : public Error {
 public:
  JobError(int failed_rank, int ranks, const std::string& cause);
  int failed_rank() const noexcept { return failed_rank_; }

 private:
  int failed_rank_;
};

// Runs `action` on this rank, then one small allreduce tells every rank whether it threw on any rank;
// if so, the lowest failing rank's message is broadcast and every rank throws JobError. A collective:
// every rank calls it at the same point. In a world of one it runs `action` and lets its exception
// through unchanged. `describe` turns the exception into its message (default: what()).
void agree(const World& world, const std::function<void()>& action,
           std::string (*describe)(const std::exception&) = nullptr);

// For a rank that failed before reaching the agree() the other ranks wait in: meets them there with
// `cause`, and throws the JobError every rank throws.
[[noreturn]] void report_failure(const World& world, const std::string& cause);

}  // namespace bend::dist
