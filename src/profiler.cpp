// The profiler's recording core (bend/profiler.hpp): one span buffer per thread, registered at its first
// span and kept for the process (a worker that ends leaves its buffer to the next drain).
#include "bend/profiler.hpp"

#include <chrono>
#include <memory>
#include <mutex>

namespace bend::profiler {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<ThreadSpans>> threads;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::atomic<const char*> g_label{"step"};
thread_local ThreadSpans* t_spans = nullptr;
thread_local int t_worker = -1;
thread_local std::int64_t t_mark = 0;

ThreadSpans& this_thread_spans() {
  if (!t_spans) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto spans = std::make_unique<ThreadSpans>();
    spans->thread = static_cast<int>(r.threads.size());
    spans->worker = t_worker;
    spans->spans.reserve(1024);
    t_spans = spans.get();
    r.threads.push_back(std::move(spans));
  }
  return *t_spans;
}

}  // namespace

const char* category_name(Category c) {
  switch (c) {
    case Category::Step:
      return "step";
    case Category::Phase:
      return "phase";
    case Category::Forward:
      return "forward";
    case Category::Backward:
      return "backward";
    case Category::Optimizer:
      return "optimizer";
    case Category::Worker:
      return "worker";
  }
  return "?";
}

void set_active(bool on) {
  if (on) drain([](const ThreadSpans&) {});
  detail::g_active.store(on, std::memory_order_relaxed);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void record(const char* name, Category category, std::int64_t begin_ns, std::int64_t end_ns) {
  if (!active()) return;
  this_thread_spans().spans.push_back({name, begin_ns, end_ns, category});
}

void mark(std::int64_t ns) { t_mark = ns; }

void forward_op(const char* name) {
  if (!active()) return;
  const std::int64_t now = now_ns();
  // (no mark yet on this thread: a span of its own moment)
  this_thread_spans().spans.push_back({name, t_mark > 0 ? t_mark : now, now, Category::Forward});
  t_mark = now;
}

void set_label(const char* name) { g_label.store(name, std::memory_order_relaxed); }
const char* label() { return g_label.load(std::memory_order_relaxed); }

void set_worker_index(int index) {
  t_worker = index;
  if (t_spans) t_spans->worker = index;
}

void drain(SpanVisitor visit, void* context) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const auto& thread : r.threads) {
    if (thread->spans.empty()) continue;
    visit(context, *thread);
    thread->spans.clear();
  }
}

}  // namespace bend::profiler
