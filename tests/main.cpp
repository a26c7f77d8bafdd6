// The test binary's main(): Catch2's session, then the exit code ctest reads as "Skipped" when a
// test could not run for want of data or a tool (see requirements.hpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "requirements.hpp"

int main(int argc, char** argv) {
  const int result = Catch::Session().run(argc, argv);
  const int skipped = bend::testing::skipped_tests();
  if (result == 0 && skipped > 0) {
    std::fprintf(stderr, "%d test(s) SKIPPED: data or a tool is missing (see the warnings above)\n", skipped);
    return bend::testing::kSkipExitCode;
  }
  return result;
}
