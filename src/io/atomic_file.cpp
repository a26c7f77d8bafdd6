// write_file_atomically: temp file + fsync + rename + directory fsync (POSIX).
#include "bend/io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <streambuf>
#include <string>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/io/failpoint.hpp"

namespace bend {

namespace {

namespace fs = std::filesystem;

std::string error_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(const fs::path& path, std::string_view what) {
  throw IoError(fmt::format("cannot write '{}': {}", path.string(), what));
}

// A write-only streambuf over a file descriptor that remembers the first write error (errno), so
// the caller can report "No space left on device" rather than a bare "stream went bad".
class FdStreambuf : public std::streambuf {
 public:
  explicit FdStreambuf(int fd) : fd_(fd) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }

  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }

  std::streamsize xsputn(const char* data, std::streamsize count) override {
    if (error_ != 0) return 0;
    if (count <= 0) return 0;  // data may be null then, which memcpy must not see
    if (count <= epptr() - pptr()) {
      std::memcpy(pptr(), data, static_cast<std::size_t>(count));
      pbump(static_cast<int>(count));
      return count;
    }
    if (!flush_buffer()) return 0;
    // Big blocks (tensor data) go straight to the file instead of through the buffer.
    if (count < static_cast<std::streamsize>(buffer_.size())) {
      std::memcpy(pptr(), data, static_cast<std::size_t>(count));
      pbump(static_cast<int>(count));
      return count;
    }
    return write_all(data, static_cast<std::size_t>(count)) ? count : 0;
  }

  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const auto pending = static_cast<std::size_t>(pptr() - pbase());
    const bool ok = write_all(pbase(), pending);
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return ok;
  }

  bool write_all(const char* data, std::size_t count) {
    if (error_ != 0) return false;
    while (count > 0) {
      const ssize_t written = ::write(fd_, data, count);
      if (written < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        return false;
      }
      data += written;
      count -= static_cast<std::size_t>(written);
    }
    return true;
  }

  int fd_;
  int error_ = 0;
  std::array<char, 64 * 1024> buffer_;
};

// Owns the temporary file until it has been renamed into place: closes the descriptor and removes
// the file on every early exit.
class TempFile {
 public:
  TempFile(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  int fd() const { return fd_; }
  const fs::path& path() const { return path_; }

  // Closes the descriptor; returns 0 or the errno of a failed close (which can report a late
  // write error on some filesystems).
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }
  void commit() { committed_ = true; }

 private:
  fs::path path_;
  int fd_;
  bool committed_ = false;
};

// Makes the rename itself durable. Some filesystems cannot fsync a directory; that is not an error.
void fsync_directory(const fs::path& target, const fs::path& directory) {
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    const int err = errno;
    fail(target,
         fmt::format("the file was replaced, but its directory '{}' could not be opened to sync it: {}",
                     directory.string(), error_text(err)));
  }
  const int result = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  if (result != 0 && err != EINVAL && err != ENOTSUP) {
    fail(target, fmt::format("the file was replaced, but syncing its directory '{}' failed: {}",
                             directory.string(), error_text(err)));
  }
}

// What kind of file system object st describes, for "... is a FIFO, not a regular file".
const char* file_kind(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "not a regular file";
}

// Only regular files (and symbolic links, which are replaced themselves) may be replaced: renaming
// over /dev/null or a FIFO would swap a system object for a plain file.
void refuse_special_target(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // absent (or unreadable: the create step reports it)
  if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return;
  fail(path, fmt::format("it is {}; bend only replaces regular files", file_kind(st)));
}

// Why the temporary file could not be created, in terms of the directory the user named.
std::string create_failure(const fs::path& directory, int err) {
  if (err == ENOENT) return fmt::format("the directory '{}' does not exist", directory.string());
  if (err == ENOTDIR) return fmt::format("'{}' is not a directory", directory.string());
  if (err == EACCES || err == EPERM)
    return fmt::format("no permission to create files in '{}'", directory.string());
  if (err == EROFS) return fmt::format("'{}' is on a read-only file system", directory.string());
  return fmt::format("cannot create a file in '{}': {}", directory.string(), error_text(err));
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  if (!path.has_filename()) fail(path, "the path does not name a file");
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  refuse_special_target(path);

  static std::atomic<unsigned long> counter{0};
  const fs::path temp_path =
      directory / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter++);
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    fail(path, create_failure(directory, err));
  }
  TempFile temp(temp_path, fd);

  {
    FdStreambuf buffer(temp.fd());
    std::ostream out(&buffer);
    try {
      write(out);
    } catch (const std::exception& error) {
      std::throw_with_nested(IoError(fmt::format("cannot write '{}': {}", path.string(), error.what())));
    } catch (...) {
      std::throw_with_nested(IoError(fmt::format("cannot write '{}': unknown exception", path.string())));
    }
    out.flush();
    const int write_error = failpoint_fires(Failpoint::Enospc, path) ? ENOSPC : buffer.error();
    if (write_error != 0) fail(path, fmt::format("write failed: {}", error_text(write_error)));
    if (!out) fail(path, "the output stream went bad");
  }

  if (::fsync(temp.fd()) != 0) {
    const int err = errno;
    fail(path, fmt::format("fsync failed: {}", error_text(err)));
  }
  if (const int err = temp.close(); err != 0) fail(path, fmt::format("close failed: {}", error_text(err)));
  if (failpoint_fires(Failpoint::AfterWrite, path)) failpoint_kill();
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    const int err = errno;
    fail(path,
         fmt::format("cannot rename temporary file '{}' over it: {}", temp.path().string(), error_text(err)));
  }
  temp.commit();
  if (failpoint_fires(Failpoint::AfterRename, path)) failpoint_kill();
  fsync_directory(path, directory);
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  write_file_atomically(path, [bytes](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

int remove_stale_temporaries(const std::filesystem::path& directory) {
  int removed = 0;
  std::error_code error;
  fs::directory_iterator it(directory, error), end;
  for (; !error && it != end; it.increment(error)) {
    // ".<name>.tmp.<pid>.<counter>": the pid is the second-last dot-separated field.
    const std::string name = it->path().filename().string();
    if (name.size() < 2 || name[0] != '.') continue;
    const auto last_dot = name.rfind('.');
    const auto pid_dot = last_dot == 0 ? std::string::npos : name.rfind('.', last_dot - 1);
    if (pid_dot == std::string::npos || pid_dot < 4 || name.compare(pid_dot - 4, 4, ".tmp") != 0) continue;
    const std::string pid_text = name.substr(pid_dot + 1, last_dot - pid_dot - 1);
    const std::string counter = name.substr(last_dot + 1);
    const auto digits = [](const std::string& t) {
      return !t.empty() && t.size() < 10 && t.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(pid_text) || !digits(counter)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // kill(pid, 0): ESRCH means no such process (EPERM: it runs, as another user).
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    if (it->is_regular_file(ignored) && fs::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

}  // namespace bend
