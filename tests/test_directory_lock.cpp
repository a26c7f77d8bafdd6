// One writer per directory: bend::DirectoryLock.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "bend/error.hpp"
#include "bend/io/directory_lock.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using bend::DirectoryLock;
using Catch::Contains;

TEST_CASE("directory lock: a second writer is refused with the holder's pid, and can lock once it is freed",
          "[io][lock]") {
  bend::testing::ScratchDir dir("bend_test_directory_lock");
  const auto runs = dir.path() / "runs";  // made by the lock
  std::optional<DirectoryLock> first;
  first.emplace(runs, "bend train", "--checkpoint-dir");
  CHECK(std::filesystem::is_directory(runs));
  {
    std::ifstream file(DirectoryLock::file_in(runs));
    std::string text;
    std::getline(file, text);
    CHECK(text == std::to_string(::getpid()) + " bend train");
  }
  // flock locks belong to open file descriptions: a second open in this very process conflicts.
  try {
    DirectoryLock second(runs, "bend compare", "--out");
    FAIL("the second lock was taken");
  } catch (const bend::IoError& e) {
    CHECK_THAT(e.what(), Contains("--out " + runs.string() + ": in use by process " +
                                  std::to_string(::getpid()) + " (bend train)"));
  }
  first.reset();
  CHECK_NOTHROW(DirectoryLock(runs, "bend compare", "--out"));
}

TEST_CASE("directory lock: a holder killed with SIGKILL leaves no lock behind", "[io][lock]") {
  bend::testing::ScratchDir dir("bend_test_directory_lock_kill");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      DirectoryLock held(dir.path(), "child", "--checkpoint-dir");
      (void)!::write(ready[1], "x", 1);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  CHECK_THROWS_WITH(DirectoryLock(dir.path(), "parent", "--checkpoint-dir"),
                    Contains("in use by process " + std::to_string(child) + " (child)"));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK_NOTHROW(DirectoryLock(dir.path(), "parent", "--checkpoint-dir"));
}

}  // namespace BEND_UNITY_ID
