// bend::dist (bend/dist/mpi.hpp): the single-process world in this process, and every collective
// across 2 processes under mpirun (tests/mpi/world_check.cpp).
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "bend/dist/mpi.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using bend::testing::require_available;
using bend::testing::run_command;

TEST_CASE("dist: a world of one process: rank 0 of 1, collectives are the identity", "[dist]") {
  const bend::dist::World world = bend::dist::self();
  CHECK(world.rank() == 0);
  CHECK(world.size() == 1);
  CHECK(world.is_root());
  world.barrier();
  std::string bytes = "unchanged";
  world.broadcast(bytes);
  CHECK(bytes == "unchanged");
  CHECK(world.gather("mine") == std::vector<std::string>{"mine"});
  std::vector<float> values = {1.5f, -2.0f};
  world.allreduce_sum(values);
  CHECK(values == std::vector<float>{1.5f, -2.0f});
  std::vector<double> sums = {0.25};
  world.allreduce_sum(sums);
  CHECK(sums == std::vector<double>{0.25});
}

TEST_CASE("dist: a process not started by mpirun does not start MPI", "[dist]") {
  // ctest starts this binary directly; run under srun or mpirun the check does not apply.
  if (bend::dist::launched_by_mpi()) return;
  bend::dist::Environment mpi;
  CHECK_FALSE(mpi.active());
  CHECK_FALSE(bend::dist::mpi_active());
  CHECK(bend::dist::world().size() == 1);
}

#ifdef BEND_MPI_WORLD_CHECK_PATH
TEST_CASE("dist: barrier, broadcast, gather and allreduce across 2 processes", "[dist][mpi]") {
  if (!require_available(std::system("command -v mpirun >/dev/null 2>&1") == 0, "mpirun",
                         "install openmpi-bin (scripts/install-deps.sh)"))
    return;
  const auto r = run_command("mpirun --oversubscribe --allow-run-as-root -np 2 " +
                             std::string(BEND_MPI_WORLD_CHECK_PATH));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  for (const char* check :
       {"ok broadcast", "ok gather", "ok allreduce_sum float", "ok allreduce_sum double", "done 2"})
    CHECK(r.out.find(check) != std::string::npos);
}
#endif

}  // namespace BEND_UNITY_ID
