// Tests for write_file_atomically: the target is replaced whole or not at all, and no temporary
// files are left behind.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

using bend::testing::FileSizeLimit;
using bend::testing::ScratchDir;

// A fresh directory under the system temp dir, removed with its contents afterwards.
std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> names_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(directory)) names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("write_file_atomically creates and replaces a file", "[io][atomic]") {
  ScratchDir dir;
  const fs::path target = dir.path() / "model.bin";

  bend::write_file_atomically(target, [](std::ostream& out) { out << "first version"; });
  CHECK(read_text(target) == "first version");

  bend::write_file_atomically(target, std::string_view("second"));
  CHECK(read_text(target) == "second");

  // Binary content, including NULs, goes through unchanged; so does a block larger than the buffer.
  std::string big(300'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  bend::write_file_atomically(target, [&](std::ostream& out) {
    out.put('x');
    out.write(big.data(), static_cast<std::streamsize>(big.size()));
  });
  CHECK(read_text(target) == "x" + big);

  bend::write_file_atomically(target, std::string_view());
  CHECK(fs::file_size(target) == 0);

  CHECK(names_in(dir.path()) == std::vector<std::string>{"model.bin"});
}

TEST_CASE("write_file_atomically keeps the old file when the callback throws", "[io][atomic]") {
  ScratchDir dir;
  const fs::path target = dir.path() / "state.json";
  bend::write_file_atomically(target, std::string_view("old content"));

  const auto failing_write = [](std::ostream& out) {
    out << "half of the new content";
    throw std::runtime_error("serializer exploded");
  };
  CHECK_THROWS_AS(bend::write_file_atomically(target, failing_write), bend::IoError);
  CHECK_THROWS_WITH(bend::write_file_atomically(target, failing_write),
                    Contains(target.string()) && Contains("serializer exploded"));
  CHECK(read_text(target) == "old content");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"state.json"});

  // The original exception is nested inside the IoError.
  try {
    bend::write_file_atomically(target, failing_write);
    FAIL("expected an exception");
  } catch (const bend::IoError& error) {
    CHECK_THROWS_AS(std::rethrow_if_nested(error), std::runtime_error);
  }

  // Also when there was no file before: nothing is left.
  const fs::path fresh = dir.path() / "fresh.json";
  CHECK_THROWS_AS(bend::write_file_atomically(fresh, failing_write), bend::IoError);
  CHECK_FALSE(fs::exists(fresh));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("write_file_atomically refuses a stream left in a failed state", "[io][atomic]") {
  ScratchDir dir;
  const fs::path target = dir.path() / "out.txt";
  bend::write_file_atomically(target, std::string_view("old"));
  CHECK_THROWS_WITH(bend::write_file_atomically(target,
                                                [](std::ostream& out) {
                                                  out << "new";
                                                  out.setstate(std::ios::badbit);
                                                }),
                    Contains(target.string()) && Contains("stream went bad"));
  CHECK(read_text(target) == "old");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"out.txt"});
}

TEST_CASE("write_file_atomically reports a write error (file too large, as with a full disk)",
          "[io][atomic]") {
  ScratchDir dir;
  const fs::path target = dir.path() / "weights.bin";
  bend::write_file_atomically(target, std::string_view("small old file"));
  const std::string big(1 << 20, 'w');
  {
    FileSizeLimit limit(64 * 1024);
    CHECK_THROWS_WITH(bend::write_file_atomically(target, std::string_view(big)),
                      Contains(target.string()) && Contains("write failed") && Contains("too large"));
  }
  CHECK(read_text(target) == "small old file");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"weights.bin"});
}

TEST_CASE("write_file_atomically gives a clear error for a directory it cannot write to", "[io][atomic]") {
  ScratchDir dir;
  const fs::path missing_dir_target = dir.path() / "no_such_dir" / "file.bin";
  CHECK_THROWS_AS(bend::write_file_atomically(missing_dir_target, std::string_view("x")), bend::IoError);
  CHECK_THROWS_WITH(bend::write_file_atomically(missing_dir_target, std::string_view("x")),
                    Contains(missing_dir_target.string()) && Contains("does not exist"));

  bend::write_file_atomically(dir.path() / "plain_file", std::string_view("x"));
  const fs::path under_a_file = dir.path() / "plain_file" / "file.bin";
  CHECK_THROWS_WITH(bend::write_file_atomically(under_a_file, std::string_view("x")),
                    Contains(under_a_file.string()) && Contains("is not a directory"));

  CHECK_THROWS_WITH(bend::write_file_atomically(dir.path() / "", std::string_view("x")),
                    Contains("does not name a file"));

  // Permission bits do not stop root, so this part only means something for other users.
  if (::geteuid() != 0) {
    const fs::path read_only = dir.path() / "read_only";
    fs::create_directory(read_only);
    fs::permissions(read_only, fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH(bend::write_file_atomically(read_only / "file.bin", std::string_view("x")),
                      Contains("read_only/file.bin") && Contains("Permission denied"));
    fs::permissions(read_only, fs::perms::owner_all);
  }
}

TEST_CASE("remove_stale_temporaries removes what dead processes left, and nothing else", "[io][atomic]") {
  bend::testing::ScratchDir dir;
  // A pid that has just exited.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const auto touch = [&](const std::string& name) { std::ofstream(dir.path() / name) << "partial"; };
  const std::string dead = std::to_string(child), alive = std::to_string(::getppid());
  touch(".checkpoint.safetensors.tmp." + dead + ".0");
  touch(".model.tmp.safetensors.tmp." + dead + ".12");
  touch(".checkpoint.safetensors.tmp." + alive + ".0");  // a write in progress: kept
  touch("checkpoint.safetensors");
  touch(".hidden");
  touch(".notes.tmp.x.1");
  CHECK(bend::remove_stale_temporaries(dir.path()) == 2);
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{".checkpoint.safetensors.tmp." + alive + ".0", ".hidden",
                                         ".notes.tmp.x.1", "checkpoint.safetensors"});
  CHECK(bend::remove_stale_temporaries(dir.path() / "missing") == 0);
}

}  // namespace BEND_UNITY_ID
