#pragma once
// One writer per directory. A run that writes checkpoints or a report into a directory holds an
// advisory lock (flock) on `<directory>/.bend.lock` for as long as it runs; a second run that wants
// the same directory is refused with an IoError naming the process that holds it. The kernel drops
// the lock when its process ends, however it ends (SIGKILL included), so a killed run never blocks
// the next one: no stale lock to clean up by hand.
#include <filesystem>
#include <string_view>

namespace bend {

class DirectoryLock {
 public:
  // Creates `directory` if needed and takes its lock. `owner` (e.g. "bend train") is written into the
  // lock file with this process's id, for the message a refused writer prints. `flag` names where the
  // directory came from in that message (e.g. "--checkpoint-dir"). Throws IoError if another open lock
  // holds it, or if the lock file cannot be made.
  DirectoryLock(const std::filesystem::path& directory, std::string_view owner, std::string_view flag);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  // The lock file's path.
  static std::filesystem::path file_in(const std::filesystem::path& directory);

 private:
  int fd_ = -1;
};

}  // namespace bend
