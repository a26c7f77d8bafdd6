// libFuzzer target: reading a checkpoint (bend::train::read_checkpoint, which validates every field
// of a run's saved state before --resume uses it). read_checkpoint takes a path, so the input goes
// into an in-memory file (memfd) that is opened through /proc/self/fd: no disk traffic per run.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "bend/train/checkpoint.hpp"
#include "fuzz_target.hpp"

namespace {
const std::string& memory_file_path() {
  static const std::string path = [] {
    const int fd = ::memfd_create("bend-fuzz-checkpoint", 0);
    if (fd < 0) __builtin_trap();
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

void read(std::span<const std::uint8_t> input) {
  const std::string& path = memory_file_path();
  const int fd = std::stoi(path.substr(path.rfind('/') + 1));
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, input.data(), input.size(), 0) != static_cast<ssize_t>(input.size()))
    __builtin_trap();
  const bend::train::CheckpointState state = bend::train::read_checkpoint(path);
  BEND_FUZZ_CHECK(state.batch >= 1 && state.epochs_done >= 0 && state.steps_done >= 0 &&
                  state.partial.batch >= 0 && state.partial.correct <= state.partial.seen &&
                  state.partial.seen <= state.partial.batch * state.batch);
}
}  // namespace

BEND_FUZZ_TARGET(read)
