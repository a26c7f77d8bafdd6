#pragma once
// Recycling allocators behind tensors. A training step creates the same tensors (same sizes) every
// time; once the first steps have filled these caches, later steps take every buffer and every tensor
// object from them and the heap is not touched (tests/test_allocations.cpp counts it).
#include <cstddef>
#include <cstdint>

namespace bend::detail {

// Float buffers, 64-byte aligned, cached by size. `capacity` receives the usable element count.
float* acquire_floats(std::size_t count, std::size_t& capacity);
void release_floats(float* data, std::size_t capacity) noexcept;

// Small fixed-size objects (tensor impls and their shared_ptr control blocks), cached by size.
void* acquire_object(std::size_t bytes);
void release_object(void* p, std::size_t bytes) noexcept;

// Allocator for std::allocate_shared that recycles through acquire_object.
template <class T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(acquire_object(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { release_object(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace bend::detail

namespace bend {

// Counters of the tensor memory caches, for tests and `bench` (peak memory, reuse).
struct MemoryStats {
  std::uint64_t buffers_created = 0;  // float buffers taken from the heap
  std::uint64_t buffers_reused = 0;   // float buffers served from the cache
  std::uint64_t objects_created = 0;  // tensor objects taken from the heap
  std::size_t bytes_in_use = 0;       // float buffer bytes held by live tensors
  std::size_t bytes_cached = 0;       // float buffer bytes waiting in the cache
};
MemoryStats memory_stats();
// Returns every cached (unused) buffer to the heap.
void release_cached_memory();

}  // namespace bend
