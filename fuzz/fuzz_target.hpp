#pragma once
// What every fuzz target shares: bend's own exceptions are the expected answer to bad input and end
// the run for that input normally; anything else (another exception, a crash, a sanitizer report)
// escapes to libFuzzer, or to the replay program, as a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "bend/error.hpp"

// Defines LLVMFuzzerTestOneInput around `body(std::span<const std::uint8_t> input)`.
#define BEND_FUZZ_TARGET(body)                                                        \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    try {                                                                             \
      body(std::span<const std::uint8_t>(data, size));                                \
    } catch (const bend::Error&) {                                                    \
    }                                                                                 \
    return 0;                                                                         \
  }

// An invariant of a successful parse that does not hold: abort, so libFuzzer keeps the input.
#define BEND_FUZZ_CHECK(condition)      \
  do {                                  \
    if (!(condition)) __builtin_trap(); \
  } while (false)
