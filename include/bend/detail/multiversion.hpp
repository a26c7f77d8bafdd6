#pragma once
// BEND_MULTIVERSION: compile a hot loop three times, for the x86-64 baseline (SSE2), x86-64-v3 (AVX2 +
// FMA) and x86-64-v4 (AVX-512), and pick one at load time (GCC function multiversioning). The library
// itself is built for the baseline so that it runs on any x86-64; the loops that dominate a training
// step still get the widest vectors the CPU has (a GELU forward: 1.6 ns per element for SSE2, 0.65 for
// AVX2, 0.29 for AVX-512 on the 2-core EPYC these figures come from).
// Results may differ in the last bit between the baseline and the others (FMA contraction), never
// between runs on the same machine.
//
// It also flattens the loop: every call inside is inlined, so each clone computes the element with its
// own instructions (a call left out of line would be compiled for the baseline alone, and one scalar
// call per element undoes the vectorisation).
//
// ThreadSanitizer builds get one version: an ifunc resolver runs while the program is still being
// relocated, before TSan's runtime is up, and TSan's instrumented resolver crashes there.
#if defined(__SANITIZE_THREAD__)
#define BEND_NO_MULTIVERSION 1
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__) && \
    !defined(BEND_NO_MULTIVERSION)
#define BEND_MULTIVERSION \
  __attribute__((flatten, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__GNUC__)
#define BEND_MULTIVERSION __attribute__((flatten))
#else
#define BEND_MULTIVERSION
#endif
