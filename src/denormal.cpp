// set_flush_denormal: the SSE control register's flush-to-zero and denormals-are-zero bits, applied
// to the calling thread now and to bend's workers before their next part.
#include "bend/denormal.hpp"

#include <atomic>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define BEND_HAS_FTZ 1
#else
#define BEND_HAS_FTZ 0
#endif

namespace bend {
namespace {

std::atomic<bool> g_flush{false};
thread_local bool t_flush = false;  // what this thread's control register holds (threads start with IEEE)

void apply(bool on) {
#if BEND_HAS_FTZ
  constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | kFlushToZero | kDenormalsAreZero) : (csr & ~(kFlushToZero | kDenormalsAreZero)));
#endif
  t_flush = on;
}

}  // namespace

bool set_flush_denormal(bool on) {
  if (!BEND_HAS_FTZ) return false;
  g_flush.store(on, std::memory_order_relaxed);
  apply(on);
  return true;
}

bool flush_denormal() { return g_flush.load(std::memory_order_relaxed); }

namespace detail {
void sync_float_mode() {
  const bool wanted = g_flush.load(std::memory_order_relaxed);
  if (wanted != t_flush) apply(wanted);
}
}  // namespace detail

}  // namespace bend
