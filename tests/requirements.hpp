#pragma once
// Tests that need data or a tool (MNIST, Fashion-MNIST, PyTorch) call require_available() first.
// - Present: the test runs.
// - Missing under CI=true: the test FAILS, saying what to install (CI installs everything).
// - Missing elsewhere: the test is skipped for real: it says so, and the test binary then exits with
//   kSkipExitCode, which ctest (SKIP_RETURN_CODE, tests/CMakeLists.txt) reports as "Skipped", never
//   as passed.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <string_view>

namespace bend::testing {

inline constexpr int kSkipExitCode = 77;

// Tests skipped in this run of the binary.
inline int& skipped_tests() {
  static int count = 0;
  return count;
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

// True when `available`; otherwise fails (CI) or records a skip (elsewhere) and returns false, so the
// test returns at once: `if (!require_available(...)) return;`
inline bool require_available(bool available, const std::string& what, const std::string& how_to_install) {
  if (available) return true;
  if (running_in_ci()) FAIL(what << " is missing, and CI=true runs every test: " << how_to_install);
  ++skipped_tests();
  WARN("SKIPPED: " << what << " is missing; " << how_to_install);
  return false;
}

}  // namespace bend::testing
