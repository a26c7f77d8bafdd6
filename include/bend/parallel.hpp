#pragma once
// bend's own threads. A training step of a small MLP is a chain of short kernels (a few to a few
// hundred microseconds each), too short for a thread hand-off through OpenBLAS's or OpenMP's pools to
// pay. bend keeps one small pool of workers that spin briefly between kernels, splits each large
// enough GEMM, elementwise loop and optimizer update into one part per thread, and runs OpenBLAS itself
// single-threaded inside each part, so the cores are never oversubscribed.
//
//   bend::set_num_threads(2);              // 0 restores the default for this machine
//   bend::parallel_for(parts, [&](int part, int parts) { ... });
//
// Parts run at the same time on different threads; part 0 runs on the calling thread. A parallel
// region started from inside another, or while another thread holds the pool, runs its parts one after
// another on the calling thread instead (same results, no deadlock). The work of a part must not
// throw.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace bend {

// The most threads anyone may ask for (BEND_NUM_THREADS, set_num_threads, --threads).
inline constexpr int kMaxThreads = 1024;

// Threads bend's kernels use (the calling thread included). Defaults to the cores this process may run
// on (sched_getaffinity), at most 8; `BEND_NUM_THREADS` in the environment overrides the default.
int num_threads();
// n >= 1 sets the count; n = 0 restores the default. Also puts OpenBLAS in single-threaded mode (bend
// splits the products itself). Call it between steps, not from inside a parallel region.
void set_num_threads(int n);
int default_num_threads();
// The cores this process may run on (sched_getaffinity; under mpirun, the cores the rank is bound to).
int cores_available();

// A pool of the calling thread's own, for running several trainings at once in one process (each
// `bend compare --jobs` run on its own thread). While it lives, num_threads(), set_num_threads() and
// the parallel regions started on this thread use this pool of `threads` threads (the calling thread
// included) instead of the process's shared one; its workers run their parts as part of it.
//   std::thread([&] { bend::ThreadBudget budget(2); trainer.run(); });
// Create and destroy it on the same thread, outside a parallel region.
class ThreadBudget {
 public:
  explicit ThreadBudget(int threads);
  ~ThreadBudget();
  ThreadBudget(const ThreadBudget&) = delete;
  ThreadBudget& operator=(const ThreadBudget&) = delete;

 private:
  void* pool_;      // the Pool of parallel.cpp
  void* previous_;  // the thread's pool before this one (nullptr: the shared pool)
};

namespace detail {
using ParallelTask = void (*)(void* context, int part, int parts);
// Runs task(context, p, parts) for p = 0..parts-1, parts <= num_threads(), and returns when all are done.
void run_parallel(int parts, ParallelTask task, void* context) noexcept;
}  // namespace detail

// Runs body(part, parts) for every part in 0..parts-1 in parallel (parts is clamped to num_threads()).
template <class Body>
void parallel_for(int parts, Body&& body) {
  using B = std::remove_reference_t<Body>;
  detail::run_parallel(
      parts, [](void* context, int part, int n) { (*static_cast<B*>(context))(part, n); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

// The half-open range [begin, end) of part `part` when `total` items are split into `parts` nearly
// equal pieces whose boundaries fall on multiples of `align` (so SIMD loops and cache lines are not
// split between threads).
inline std::pair<std::int64_t, std::int64_t> split_range(std::int64_t total, int part, int parts,
                                                         std::int64_t align = 16) {
  const std::int64_t blocks = (total + align - 1) / align;
  const std::int64_t begin = std::min(total, blocks * part / parts * align);
  const std::int64_t end = std::min(total, blocks * (part + 1) / parts * align);
  return {begin, end};
}

// How many parts an elementwise loop over n floats should use: one per thread above a size where the
// hand-off (a few hundred nanoseconds) is repaid, else one.
int parts_for_elementwise(std::int64_t n);

// An elementwise loop over [0, n): body(begin, end) once per part, the ranges split as split_range
// does and only when n is large enough to pay (parts_for_elementwise).
template <class Body>
void parallel_for_elements(std::int64_t n, Body&& body) {
  parallel_for(parts_for_elementwise(n), [&](int part, int parts) {
    const auto [begin, end] = split_range(n, part, parts);
    body(begin, end);
  });
}

}  // namespace bend
