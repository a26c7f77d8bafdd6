// Run by tests/test_dist.cpp under `mpirun -np R`: exercises every collective of bend::dist::World and
// prints one line per check from rank 0 ("ok <check>" or "FAIL <check>: ..."), then "done <size>".
// Exit code 0 when every check passed on every rank.
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "bend/dist/mpi.hpp"

int main(int argc, char** argv) {
  bend::dist::Environment mpi(argc, argv);
  const bend::dist::World world = bend::dist::world();
  const int rank = world.rank(), size = world.size();
  int failures = 0;
  auto report = [&](bool ok, const std::string& check) {
    if (!ok) ++failures;
    if (rank == 0) std::printf("%s %s\n", ok ? "ok" : "FAIL", check.c_str());
  };

  world.barrier();

  // Root's bytes (with a zero byte inside) reach every rank; the others start with other lengths.
  std::string message = rank == 0 ? std::string("from root\0with a zero", 21) : std::string(rank * 3, 'x');
  world.broadcast(message);
  report(message == std::string("from root\0with a zero", 21), "broadcast");

  // Rank r sends r + 1 copies of char 'a' + r (rank 1 sends an empty string to test empty parts).
  const std::string mine = rank == 1 ? std::string() : std::string(rank + 1, static_cast<char>('a' + rank));
  const std::vector<std::string> gathered = world.gather(mine);
  if (rank == 0) {
    bool ok = static_cast<int>(gathered.size()) == size;
    for (int r = 0; ok && r < size; ++r)
      ok = gathered[r] == (r == 1 ? std::string() : std::string(r + 1, static_cast<char>('a' + r)));
    report(ok, "gather");
  } else {
    report(gathered.empty(), "gather (non-root gets nothing)");
  }

  std::vector<float> floats = {1.0f * rank, 0.5f, -2.0f};
  world.allreduce_sum(floats);
  const float rank_sum = static_cast<float>(size * (size - 1) / 2);
  report(floats[0] == rank_sum && floats[1] == 0.5f * size && floats[2] == -2.0f * size,
         "allreduce_sum float");

  std::vector<double> doubles(1000);
  std::iota(doubles.begin(), doubles.end(), static_cast<double>(rank));
  world.allreduce_sum(doubles);
  bool doubles_ok = true;
  for (int i = 0; i < 1000; ++i)
    doubles_ok = doubles_ok && doubles[i] == size * static_cast<double>(i) + rank_sum;
  report(doubles_ok, "allreduce_sum double");

  // Every rank's failure count, so rank 0's exit code covers all ranks.
  double failed = failures;
  world.allreduce_sum(std::span<double>(&failed, 1));
  if (rank == 0) std::printf("done %d\n", size);
  return failed == 0 ? 0 : 1;
}
