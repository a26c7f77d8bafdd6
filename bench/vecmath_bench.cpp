// vecmath_bench: times bend::vm elementwise math (include/bend/detail/vecmath.hpp) against the scalar
// libm float functions, as plain loops `y[i] = f(x[i])` over a 16M-element float array.
//
// Build and run (standalone; in the tree it is the CMake target `vecmath_bench`):
//   g++ -std=c++20 -O3 -fno-math-errno -Iinclude bench/vecmath_bench.cpp -o vecmath_bench && ./vecmath_bench
//   g++ -std=c++20 -O3 -fno-math-errno -march=native -Iinclude bench/vecmath_bench.cpp -o
//   vecmath_bench_native
// Options: ./vecmath_bench [elements] [repetitions]   (defaults 16777216 and 5; the best time is kept)
// To see which loops the compiler vectorised, add -fopt-info-vec-optimized: every bend::vm loop below
// must be reported as "loop vectorized"; the libm loops are not (GCC only vectorises libm calls under
// -ffast-math).
//
// Prints, per function, ns per element and GB/s (bytes read + written) for both versions, the speed-up,
// and the largest difference between them (a cheap sanity check that both computed the same thing).
#include "bend/detail/vecmath.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using Kernel = void (*)(const float* __restrict, float* __restrict, std::size_t);

// One noinline loop per function, so each shows up on its own line in -fopt-info output and the
// compiler cannot specialise it to the benchmark's data.
#define BEND_BENCH_KERNEL(name, expr)                                                             \
  [[gnu::noinline]] void name(const float* __restrict in, float* __restrict out, std::size_t n) { \
    for (std::size_t i = 0; i < n; ++i) {                                                         \
      const float x = in[i];                                                                      \
      out[i] = (expr);                                                                            \
    }                                                                                             \
  }

BEND_BENCH_KERNEL(copy_scale, x * 2.0f)  // memory-bandwidth reference: no math at all

BEND_BENCH_KERNEL(vm_exp, bend::vm::exp(x))
BEND_BENCH_KERNEL(vm_expm1, bend::vm::expm1(x))
BEND_BENCH_KERNEL(vm_log, bend::vm::log(x))
BEND_BENCH_KERNEL(vm_log1p, bend::vm::log1p(x))
BEND_BENCH_KERNEL(vm_tanh, bend::vm::tanh(x))
BEND_BENCH_KERNEL(vm_sigmoid, bend::vm::sigmoid(x))
BEND_BENCH_KERNEL(vm_erf, bend::vm::erf(x))
BEND_BENCH_KERNEL(vm_gelu, 0.5f * x * (1.0f + bend::vm::erf(x * 0.70710678f)))
BEND_BENCH_KERNEL(vm_softplus, bend::vm::softplus(x))
BEND_BENCH_KERNEL(vm_log_sigmoid, bend::vm::log_sigmoid(x))

BEND_BENCH_KERNEL(libm_exp, std::exp(x))
BEND_BENCH_KERNEL(libm_expm1, std::expm1(x))
BEND_BENCH_KERNEL(libm_log, std::log(x))
BEND_BENCH_KERNEL(libm_log1p, std::log1p(x))
BEND_BENCH_KERNEL(libm_tanh, std::tanh(x))
BEND_BENCH_KERNEL(libm_sigmoid, 1.0f / (1.0f + std::exp(-x)))
BEND_BENCH_KERNEL(libm_erf, std::erf(x))
BEND_BENCH_KERNEL(libm_gelu, 0.5f * x * (1.0f + std::erf(x * 0.70710678f)))
BEND_BENCH_KERNEL(libm_softplus, std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))))
BEND_BENCH_KERNEL(libm_log_sigmoid, std::min(x, 0.0f) - std::log1p(std::exp(-std::fabs(x))))

#undef BEND_BENCH_KERNEL

struct Case {
  const char* name;
  Kernel vm;
  Kernel libm;
  float lo, hi;  // input range: where the activation is used in practice
};

double best_seconds(Kernel kernel, const std::vector<float>& in, std::vector<float>& out, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    kernel(in.data(), out.data(), in.size());
    const auto stop = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(stop - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::size_t{1} << 24;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  if (n == 0 || reps <= 0) {
    std::fprintf(stderr, "usage: %s [elements > 0] [repetitions > 0]\n", argv[0]);
    return 2;
  }

  const Case cases[] = {
      {"exp", vm_exp, libm_exp, -20.0f, 20.0f},
      {"expm1", vm_expm1, libm_expm1, -5.0f, 5.0f},
      {"log", vm_log, libm_log, 1e-6f, 100.0f},
      {"log1p", vm_log1p, libm_log1p, -0.99f, 100.0f},
      {"tanh", vm_tanh, libm_tanh, -6.0f, 6.0f},
      {"sigmoid", vm_sigmoid, libm_sigmoid, -10.0f, 10.0f},
      {"erf", vm_erf, libm_erf, -4.0f, 4.0f},
      {"gelu(erf)", vm_gelu, libm_gelu, -6.0f, 6.0f},
      {"softplus", vm_softplus, libm_softplus, -20.0f, 20.0f},
      {"log_sigmoid", vm_log_sigmoid, libm_log_sigmoid, -20.0f, 20.0f},
  };

  std::vector<float> in(n), out_vm(n), out_libm(n);
  std::mt19937 rng(42);
  const double bytes = 2.0 * sizeof(float) * static_cast<double>(n);
  auto ns_per_element = [&](double s) { return s * 1e9 / static_cast<double>(n); };

  {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : in) v = dist(rng);
    const double s = best_seconds(copy_scale, in, out_vm, reps);
    std::printf("%zu elements, best of %d; memory reference y = 2x: %.3f ns/elem, %.1f GB/s\n\n", n, reps,
                ns_per_element(s), bytes / s * 1e-9);
  }
  std::printf("%-12s %12s %10s %14s %10s %9s %12s\n", "function", "vm ns/elem", "vm GB/s", "libm ns/elem",
              "libm GB/s", "speed-up", "max |diff|");
  for (const Case& c : cases) {
    std::uniform_real_distribution<float> dist(c.lo, c.hi);
    for (float& v : in) v = dist(rng);
    const double vm_s = best_seconds(c.vm, in, out_vm, reps);
    const double libm_s = best_seconds(c.libm, in, out_libm, reps);
    float max_diff = 0.0f;
    for (std::size_t i = 0; i < n; ++i) max_diff = std::max(max_diff, std::fabs(out_vm[i] - out_libm[i]));
    std::printf("%-12s %12.3f %10.2f %14.3f %10.2f %8.1fx %12.3g\n", c.name, ns_per_element(vm_s),
                bytes / vm_s * 1e-9, ns_per_element(libm_s), bytes / libm_s * 1e-9, libm_s / vm_s, max_diff);
  }
  return 0;
}
