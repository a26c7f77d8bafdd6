#pragma once
// A small wrapper over MPI for bend's multi-process work (`mpirun -np R bend compare ...` spreads a
// sweep's runs over R processes; data-parallel training averages gradients). Built with MPI
// (CMake option BEND_MPI), it talks to MPI_COMM_WORLD; built without, every call is the single-process
// case: rank 0 of a world of size 1, collectives return their input.
//
//   int main(int argc, char** argv) {
//     bend::dist::Environment mpi(argc, argv);  // MPI_Init only when started by mpirun/srun
//     const bend::dist::World world = bend::dist::world();
//     if (world.rank() == 0) ...
//   }
//
// MPI is initialised only when the process was started by an MPI launcher (the launcher's rank and
// size variables are in the environment), so a plain `bend train` never pays for MPI start-up and
// never needs one. Only the thread that created the Environment calls MPI (MPI_THREAD_FUNNELED).
// Errors from MPI are thrown as bend::Error naming the call.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace bend::dist {

// True when bend was built with MPI.
bool built_with_mpi() noexcept;

// True when the environment says an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx) started this
// process: OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK or similar are set.
bool launched_by_mpi() noexcept;

// Initialises MPI on construction (when built with MPI and launched_by_mpi(), and MPI is not yet
// initialised) and finalises it on destruction if this object initialised it. One per process, on the
// main thread.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  Environment();  // no command line for MPI to look at
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // True when this process runs under MPI (MPI was initialised, here or before).
  bool active() const noexcept;

 private:
  bool initialised_here_ = false;
};

// True when MPI is initialised and not yet finalised.
bool mpi_active() noexcept;

// The processes of the job. Without an active MPI: rank 0 of 1, every collective the identity.
// Collectives must be called by every rank in the same order (with the same root and lengths where
// the comment says so); a rank that fails must still reach them (catch, then report through them).
class World {
 public:
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool is_root() const noexcept { return rank_ == 0; }

  // Waits until every rank reached it.
  void barrier() const;

  // Root's bytes to every rank (the others' `bytes` are replaced, any length).
  void broadcast(std::string& bytes, int root = 0) const;

  // Every rank's bytes (any length each) to root: on root, one string per rank in rank order; on the
  // others, an empty vector.
  std::vector<std::string> gather(const std::string& bytes, int root = 0) const;

  // Ends every rank of the job with `exit_code` (MPI_Abort; without MPI, std::exit): for an error on
  // one rank that would leave the others waiting in a collective.
  [[noreturn]] void abort(int exit_code) const;

  // Element-wise sum over ranks, in place, on every rank (same length on every rank).
  void allreduce_sum(std::span<float> values) const;
  void allreduce_sum(std::span<double> values) const;

 private:
  friend World world();
  friend World self();
  World(int rank, int size) : rank_(rank), size_(size) {}
  int rank_ = 0, size_ = 1;
};

// MPI_COMM_WORLD, or the single-process world when MPI is not active.
World world();

// This process alone (rank 0 of 1), MPI or not: for code that takes a World but should not spread out.
World self();

}  // namespace bend::dist
