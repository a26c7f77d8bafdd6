#pragma once
// The profiler's recording core: spans (name, category, begin, end) kept per thread while profiling is
// on. The autograd tape, the thread pool and the optimizer record into it; bend::train::Profiler
// (bend/train/profiler.hpp) turns the spans into a table and a Chrome trace.
//
// Off (the default), every hook is one relaxed load and a branch: nothing is timed, nothing allocated.
// On, a span costs two clock reads and a push into the thread's buffer.
//
// What a span measures:
// - an op's forward (Category::Forward): from the end of the previous op recorded on this thread (or
//   the last mark(), which the training profiler sets at each phase of a step) to the moment the op
//   records itself on the tape, i.e. the end of its computation. Ops record after computing, so a span
//   holds the op's own work and the glue before it (module code, an op that recorded nothing);
// - an op's backward (Category::Backward): its backward function, exactly;
// - the optimizer's updates made during backward (Category::Optimizer);
// - a part of a parallel region run by a pool worker (Category::Worker), named after what the calling
//   thread was doing (set_label: the op whose backward runs, or the phase).
#include <atomic>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace bend::profiler {

enum class Category : std::uint8_t { Step, Phase, Forward, Backward, Optimizer, Worker };
const char* category_name(Category c);

struct Span {
  const char* name;  // a string with static storage (op names, phase names)
  std::int64_t begin_ns, end_ns;
  Category category;
};

// The spans one thread recorded since the last drain().
struct ThreadSpans {
  int thread = 0;   // 0, 1, ... in the order threads first recorded
  int worker = -1;  // the pool worker's index (1, 2, ...), or -1 for a thread that is not a worker
  std::vector<Span> spans;
};

namespace detail {
inline std::atomic<bool> g_active{false};
}  // namespace detail

// Whether spans are being recorded (the hooks' one check).
inline bool active() { return detail::g_active.load(std::memory_order_relaxed); }
// Turns recording on or off. Turning it on drops spans left from before.
void set_active(bool on);

// Nanoseconds on the steady clock.
std::int64_t now_ns();

// Appends a span to this thread's buffer (when active).
void record(const char* name, Category category, std::int64_t begin_ns, std::int64_t end_ns);
// Sets this thread's mark: where the next forward op span begins.
void mark(std::int64_t ns);
// A forward op's span: [this thread's mark, now]; the mark moves to now.
void forward_op(const char* name);
// What pool workers name their spans while the calling thread does it.
void set_label(const char* name);
const char* label();
// Called by each pool worker when it starts (its index in the pool), to name its track.
void set_worker_index(int index);

// Shows every thread's spans recorded since the last drain to `visit`, then empties the buffers (they keep
// their capacity, so a steady profiled step allocates nothing here). Call it when no parallel region
// runs (the workers are idle then), from one thread at a time.
using SpanVisitor = void (*)(void* context, const ThreadSpans& thread);
void drain(SpanVisitor visit, void* context);
template <class F>
void drain(F&& visit) {
  using V = std::remove_reference_t<F>;
  drain([](void* context, const ThreadSpans& thread) { (*static_cast<V*>(context))(thread); },
        const_cast<void*>(static_cast<const void*>(&visit)));
}

// A span over a scope, when active.
class Scope {
 public:
  Scope(const char* name, Category category) : name_(name), category_(category) {
    if (active()) begin_ = now_ns();
  }
  ~Scope() {
    if (begin_ >= 0 && active()) record(name_, category_, begin_, now_ns());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* name_;
  Category category_;
  std::int64_t begin_ = -1;
};

}  // namespace bend::profiler
