// bend::dist over MPI_COMM_WORLD (bend/dist/mpi.hpp). Compiled with BEND_HAVE_MPI=1 when CMake found
// MPI and BEND_MPI is on; otherwise every function is the single-process case.
#include "bend/dist/mpi.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bend/error.hpp"

#ifndef BEND_HAVE_MPI
#define BEND_HAVE_MPI 0
#endif
#if BEND_HAVE_MPI
#include <mpi.h>
#endif

namespace bend::dist {

bool built_with_mpi() noexcept { return BEND_HAVE_MPI != 0; }

World self() { return World(0, 1); }

bool launched_by_mpi() noexcept {
  // Open MPI's mpirun, PMI-1/2 launchers (MPICH's hydra, Intel MPI, srun --mpi=pmi2), PMIx launchers
  // (srun --mpi=pmix, Open MPI 4+), MVAPICH2.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"}) {
    const char* value = std::getenv(name);
    if (value && *value) return true;
  }
  return false;
}

#if BEND_HAVE_MPI

namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(std::string(call) +
              " failed: " + (length > 0 ? std::string(text, length) : "unknown MPI error"));
}

int checked_count(std::size_t n, const char* call) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw ValueError(std::string(call) + ": " + std::to_string(n) +
                     " bytes is more than MPI's int count allows");
  return static_cast<int>(n);
}

}  // namespace

bool mpi_active() noexcept {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

Environment::Environment(int& argc, char**& argv) {
  if (!launched_by_mpi() || mpi_active()) return;
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  initialised_here_ = true;
  // Errors come back as codes (thrown as bend::Error) instead of aborting the whole job.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

Environment::Environment() {
  if (!launched_by_mpi() || mpi_active()) return;
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  initialised_here_ = true;
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

Environment::~Environment() {
  if (initialised_here_ && mpi_active()) MPI_Finalize();
}

bool Environment::active() const noexcept { return mpi_active(); }

World world() {
  if (!mpi_active()) return World(0, 1);
  int rank = 0, size = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return World(rank, size);
}

void World::abort(int exit_code) const {
  if (mpi_active()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

void World::barrier() const {
  if (size_ == 1) return;
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void World::broadcast(std::string& bytes, int root) const {
  if (size_ == 1) return;
  std::uint64_t length = bytes.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast (length)");
  const int count = checked_count(length, "broadcast");
  if (rank_ != root) bytes.assign(length, '\0');
  check(MPI_Bcast(bytes.data(), count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
}

std::vector<std::string> World::gather(const std::string& bytes, int root) const {
  if (size_ == 1) return {bytes};
  const int count = checked_count(bytes.size(), "gather");
  std::vector<int> counts(rank_ == root ? size_ : 0);
  check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD),
        "MPI_Gather (lengths)");
  std::vector<int> offsets(counts.size());
  std::string all;
  if (rank_ == root) {
    std::size_t total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[r] = static_cast<int>(total);
      total += static_cast<std::size_t>(counts[r]);
    }
    // The other ranks are already sending: throwing here would leave them waiting forever.
    if (total > static_cast<std::size_t>(INT_MAX)) {
      std::fputs("bend: more than 2 GiB gathered to one rank; aborting the MPI job\n", stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    all.resize(total);
  }
  check(MPI_Gatherv(bytes.data(), count, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, root,
                    MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::string> parts;
  if (rank_ != root) return parts;
  parts.reserve(size_);
  for (int r = 0; r < size_; ++r) parts.emplace_back(all, offsets[r], counts[r]);
  return parts;
}

namespace {
template <class T>
void allreduce_in_chunks(std::span<T> values, MPI_Datatype type) {
  // MPI counts are ints: reduce in chunks of at most INT_MAX elements.
  for (std::size_t begin = 0; begin < values.size(); begin += INT_MAX) {
    const std::size_t n = std::min<std::size_t>(values.size() - begin, INT_MAX);
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, static_cast<int>(n), type, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
}
}  // namespace

void World::allreduce_sum(std::span<float> values) const {
  if (size_ > 1) allreduce_in_chunks(values, MPI_FLOAT);
}
void World::allreduce_sum(std::span<double> values) const {
  if (size_ > 1) allreduce_in_chunks(values, MPI_DOUBLE);
}

#else  // single process

bool mpi_active() noexcept { return false; }
Environment::Environment(int&, char**&) {}
Environment::Environment() {}
Environment::~Environment() = default;
bool Environment::active() const noexcept { return false; }
World world() { return World(0, 1); }
void World::abort(int exit_code) const { std::exit(exit_code); }
void World::barrier() const {}
void World::broadcast(std::string&, int) const {}
std::vector<std::string> World::gather(const std::string& bytes, int) const { return {bytes}; }
void World::allreduce_sum(std::span<float>) const {}
void World::allreduce_sum(std::span<double>) const {}

#endif

}  // namespace bend::dist
