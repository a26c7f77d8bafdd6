// The worker pool behind bend::parallel_for (bend/parallel.hpp).
//
// One region at a time: the caller publishes (task, context, parts), bumps `generation_`, runs part 0
// itself and waits until every worker has acknowledged the generation. Workers spin on `generation_`
// for a short while after each region (a training step starts the next kernel within microseconds),
// yielding their core between checks after the first few microseconds (another process may need it),
// then sleep in a futex wait (std::atomic::wait) so an idle process costs no CPU.
#include "bend/parallel.hpp"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>

#include "bend/denormal.hpp"
#include "bend/error.hpp"
#include "bend/profiler.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BEND_CPU_RELAX() _mm_pause()
#else
#define BEND_CPU_RELAX() ((void)0)
#endif

namespace bend {
namespace {

constexpr int kMaxDefaultThreads = 8;
// How long an idle worker spins before it sleeps. Between two kernels of a step the gap is a few
// microseconds; between steps (data loading, logging) tens. Waking a sleeping thread costs ~10-50 µs.
constexpr auto kSpinTime = std::chrono::microseconds(300);
// How many pause-spins (~20 ns each on the benchmark machine) a waiting thread makes before it starts
// to yield its core between checks (~5 µs; the median wait at the end of a part is 0.3 µs). On a busy
// machine the OS may have parked the thread being waited for, and it needs the core more than the spin
// does: two training processes on two cores ran 25 s per epoch each without yielding, 0.95 s with it
// (alone: 0.5 s), and 1.6 s with 2048 spins before yielding.
constexpr unsigned kSpinsBeforeYield = 256;

}  // namespace

int cores_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

int threads_from_environment() {
  const char* value = std::getenv("BEND_NUM_THREADS");
  if (!value || !*value) return 0;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (*end != '\0' || n < 1 || n > kMaxThreads)
    throw ValueError("BEND_NUM_THREADS must be a whole number from 1 to " + std::to_string(kMaxThreads) +
                     ", got '" + std::string(value) + "'");
  return static_cast<int>(n);
}

thread_local bool t_inside_region = false;

}  // namespace

int default_num_threads() {
  const int from_environment = threads_from_environment();
  return from_environment > 0 ? from_environment : std::min(cores_available(), kMaxDefaultThreads);
}

namespace {

class Pool;
// The pool of a ThreadBudget on this thread (and on that pool's workers); nullptr: the shared one.
thread_local Pool* t_pool = nullptr;

class Pool {
 public:
  // The pool this thread's regions use.
  static Pool& instance() {
    if (t_pool) return *t_pool;
    static Pool pool;
    return pool;
  }

  // A ThreadBudget's pool: `threads` threads, workers started at the first region.
  explicit Pool(int threads) { size_.store(threads, std::memory_order_relaxed); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    acquire();
    stop_workers();
    size_.store(threads, std::memory_order_relaxed);
    release();
  }

  void run(int parts, detail::ParallelTask task, void* context) noexcept {
    parts = std::clamp(parts, 1, size());
    if (parts == 1 || t_inside_region || busy_.exchange(true, std::memory_order_acquire)) {
      for (int p = 0; p < parts; ++p) task(context, p, parts);
      return;
    }
    start_workers();                  // no-op once they run
    parts = std::min(parts, size());  // the pool shrinks when the system refuses threads
    if (parts == 1) {
      busy_.store(false, std::memory_order_release);
      task(context, 0, 1);
      return;
    }
    task_ = task;
    context_ = context;
    parts_ = parts;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
    t_inside_region = true;
    task(context, 0, parts);
    t_inside_region = false;
    wait_for_workers();
    busy_.store(false, std::memory_order_release);
  }

  ~Pool() { stop_workers(); }

 private:
  Pool() {
    int threads = 0;
    try {
      threads = default_num_threads();
    } catch (const Error&) {
      // A bad BEND_NUM_THREADS is reported by set_num_threads(0), which the CLI calls first.
      threads = std::min(cores_available(), kMaxDefaultThreads);
    }
    size_.store(threads);
    // bend splits the products itself; OpenBLAS threads inside each part would oversubscribe the cores.
    openblas_set_num_threads(1);
  }

  // Spins while the other parts finish (they take about as long as part 0), then yields (see
  // kSpinsBeforeYield).
  void wait_for_workers() {
    for (unsigned spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      BEND_CPU_RELAX();
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();
    }
  }

  void acquire() {
    while (busy_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  }
  void release() { busy_.store(false, std::memory_order_release); }

  // Starts size() - 1 workers. When the system refuses a thread (std::system_error: too many threads,
  // out of memory) the pool shrinks to the workers it got; this runs inside noexcept run(), so it must
  // not throw, and fewer threads compute the same results.
  void start_workers() noexcept {
    if (!workers_.empty() || size() <= 1) return;
    stopping_.store(false, std::memory_order_relaxed);
    const std::uint32_t start = generation_.load(std::memory_order_relaxed);
    try {
      workers_.reserve(static_cast<std::size_t>(size() - 1));
      for (int index = 1; index < size(); ++index)
        workers_.emplace_back([this, index, start] { work(index, start); });
    } catch (const std::exception&) {
      size_.store(static_cast<int>(workers_.size()) + 1, std::memory_order_relaxed);
    }
  }

  void stop_workers() {
    if (workers_.empty()) return;
    stopping_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    generation_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  void work(int index, std::uint32_t seen) {
    t_inside_region = true;  // a part that starts a region of its own runs it serially
    t_pool = this;           // ... with this pool's thread count
    profiler::set_worker_index(index);
    for (;;) {
      seen = wait_for_next(seen);
      if (stopping_.load(std::memory_order_relaxed)) return;
      if (index < parts_) {
        detail::sync_float_mode();  // set_flush_denormal reaches the workers here
        if (profiler::active()) {
          // (written before pending_ drops, so the caller's drain after the region sees it)
          const std::int64_t begin = profiler::now_ns();
          task_(context_, index, parts_);
          profiler::record(profiler::label(), profiler::Category::Worker, begin, profiler::now_ns());
        } else {
          task_(context_, index, parts_);
        }
      }
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::uint32_t wait_for_next(std::uint32_t seen) {
    auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    for (unsigned spins = 0;; ++spins) {
      const std::uint32_t now = generation_.load(std::memory_order_acquire);
      if (now != seen) return now;
      BEND_CPU_RELAX();
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();  // let another process's thread run
      if ((spins & 255u) == 255u && std::chrono::steady_clock::now() > deadline) break;
    }
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    std::uint32_t now;
    while ((now = generation_.load(std::memory_order_seq_cst)) == seen) generation_.wait(seen);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return now;
  }

  std::atomic<int> size_{1};
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stopping_{false};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  // The current region, written before generation_ is bumped and read after it is seen.
  detail::ParallelTask task_ = nullptr;
  void* context_ = nullptr;
  int parts_ = 0;
};

}  // namespace

int num_threads() { return Pool::instance().size(); }

ThreadBudget::ThreadBudget(int threads) : pool_(nullptr), previous_(t_pool) {
  if (threads < 1 || threads > kMaxThreads)
    throw ValueError("ThreadBudget: thread count must be from 1 to " + std::to_string(kMaxThreads) +
                     ", got " + std::to_string(threads));
  Pool* pool = new Pool(threads);
  pool_ = pool;
  t_pool = pool;
  openblas_set_num_threads(1);
}

ThreadBudget::~ThreadBudget() {
  t_pool = static_cast<Pool*>(previous_);
  delete static_cast<Pool*>(pool_);  // stops and joins its workers
}

void set_num_threads(int n) {
  if (n < 0 || n > kMaxThreads)
    throw ValueError("thread count must be from 1 to " + std::to_string(kMaxThreads) +
                     " (or 0 for the default), got " + std::to_string(n));
  Pool& pool = Pool::instance();
  const int threads = n == 0 ? default_num_threads() : n;
  if (threads != pool.size()) pool.resize(threads);
  openblas_set_num_threads(1);
}

int parts_for_elementwise(std::int64_t n) {
  // Below this many floats a loop takes about a microsecond: not worth a hand-off.
  constexpr std::int64_t kMinElementsToSplit = 16384;
  return n >= kMinElementsToSplit ? num_threads() : 1;
}

namespace detail {
void run_parallel(int parts, ParallelTask task, void* context) noexcept {
  Pool::instance().run(parts, task, context);
}
}  // namespace detail

}  // namespace bend
