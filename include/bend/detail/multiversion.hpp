#pragma once
// BEND_MULTIVERSION: compile a hot loop twice, for the x86-64 baseline (SSE2) and for x86-64-v3 (AVX2 +
// FMA), and pick one at load time (GCC function multiversioning). The library itself is built for the
// baseline so that it runs on any x86-64; the loops that dominate a training step still get AVX2.
// Results may differ in the last bit between the two versions (FMA contraction), never between runs
// on the same machine.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__)
#define BEND_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BEND_MULTIVERSION
#endif
