// The recycling caches behind tensor buffers and tensor objects (see detail/memory.hpp).
#include "bend/detail/memory.hpp"

#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace bend::detail {
namespace {

constexpr std::size_t kAlignment = 64;  // a cache line; also what AVX-512 loads like
constexpr std::size_t kFloatsPerLine = kAlignment / sizeof(float);

struct Caches {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<float*>> floats;  // capacity -> free buffers
  std::unordered_map<std::size_t, std::vector<void*>> objects;  // bytes -> free objects
  MemoryStats stats;
};

Caches& caches() {
  // Never destroyed: tensors in static storage may release into it during exit.
  static Caches* instance = new Caches;
  return *instance;
}

}  // namespace

float* acquire_floats(std::size_t count, std::size_t& capacity) {
  // Round up to whole cache lines so that nearby sizes share buffers and loops may run over the tail.
  capacity = (count + kFloatsPerLine - 1) / kFloatsPerLine * kFloatsPerLine;
  if (capacity == 0) capacity = kFloatsPerLine;
  Caches& c = caches();
  {
    std::lock_guard lock(c.mutex);
    c.stats.bytes_in_use += capacity * sizeof(float);
    auto it = c.floats.find(capacity);
    if (it != c.floats.end() && !it->second.empty()) {
      float* p = it->second.back();
      it->second.pop_back();
      c.stats.bytes_cached -= capacity * sizeof(float);
      ++c.stats.buffers_reused;
      return p;
    }
    ++c.stats.buffers_created;
  }
  return static_cast<float*>(::operator new (capacity * sizeof(float), std::align_val_t{kAlignment}));
}

void release_floats(float* data, std::size_t capacity) noexcept {
  if (!data) return;
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  c.stats.bytes_in_use -= capacity * sizeof(float);
  try {
    c.floats[capacity].push_back(data);
    c.stats.bytes_cached += capacity * sizeof(float);
  } catch (...) {
    ::operator delete (data, std::align_val_t{kAlignment});
  }
}

void* acquire_object(std::size_t bytes) {
  Caches& c = caches();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.objects.find(bytes);
    if (it != c.objects.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      return p;
    }
    ++c.stats.objects_created;
  }
  return ::operator new(bytes);
}

void release_object(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  try {
    c.objects[bytes].push_back(p);
  } catch (...) {
    ::operator delete(p);
  }
}

}  // namespace bend::detail

namespace bend {

MemoryStats memory_stats() {
  auto& c = detail::caches();
  std::lock_guard lock(c.mutex);
  return c.stats;
}

void release_cached_memory() {
  auto& c = detail::caches();
  std::lock_guard lock(c.mutex);
  for (auto& [capacity, list] : c.floats) {
    for (float* p : list) ::operator delete (p, std::align_val_t{detail::kAlignment});
    c.stats.bytes_cached -= capacity * sizeof(float) * list.size();
    list.clear();
  }
}

}  // namespace bend
