// One writer per directory (see bend/io/directory_lock.hpp).
#include "bend/io/directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {

namespace {

// What the holder wrote: "<pid> <owner>", or "" if it has not written yet.
std::string read_holder(int fd) {
  char text[256] = {};
  const ssize_t n = ::pread(fd, text, sizeof(text) - 1, 0);
  std::string holder(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
  return holder;
}

}  // namespace

std::filesystem::path DirectoryLock::file_in(const std::filesystem::path& directory) {
  return directory / ".bend.lock";
}

DirectoryLock::DirectoryLock(const std::filesystem::path& directory, std::string_view owner,
                             std::string_view flag) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  const std::filesystem::path path = file_in(directory);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("{} {}: cannot make the lock file {} ({})", flag, directory.string(),
                              path.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_error = errno;
    const std::string holder = read_holder(fd_);
    ::close(fd_);
    fd_ = -1;
    if (lock_error == EWOULDBLOCK) {
      // "<pid> <owner>"
      const auto space = holder.find(' ');
      const std::string who =
          holder.empty() ? std::string("another process")
          : space == std::string::npos
              ? fmt::format("process {}", holder)
              : fmt::format("process {} ({})", holder.substr(0, space), holder.substr(space + 1));
      throw IoError(
          fmt::format("{} {}: in use by {}; two runs writing one directory would interleave "
                      "their files (wait for it to end, or choose another directory)",
                      flag, directory.string(), who));
    }
    throw IoError(fmt::format("{} {}: cannot lock {} ({})", flag, directory.string(), path.string(),
                              std::strerror(lock_error)));
  }
  // Ours now: say who holds it. A failure here only makes a refused writer's message vaguer.
  const std::string text = fmt::format("{} {}\n", ::getpid(), owner);
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

DirectoryLock::~DirectoryLock() {
  // Closing drops the lock. The file stays: unlinking it would let a third run lock a new file while
  // a second still waits on the old one.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace bend
