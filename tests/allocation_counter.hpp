#pragma once
// Counts every call to the global operator new in the test binary (allocation_counter.cpp replaces all
// of its forms, and the matching operator delete forms, with malloc/free).
#include <cstdint>

namespace bend::testing {

// Heap allocations made through operator new (any form) since the program started, on any thread.
std::uint64_t heap_allocations();

}  // namespace bend::testing
