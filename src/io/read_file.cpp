// open_regular_file / read_regular_file: open without blocking, check the type, then read.
#include "bend/io/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

RegularFile open_regular_file(const std::filesystem::path& path, std::string_view what) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer that may never come.
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw IoError(fmt::format("{}: no such file", name));
    throw IoError(fmt::format("{}: cannot open: {}", name, std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool known = ::fstat(fd, &st) == 0;
    ::close(fd);
    if (!known) throw IoError(fmt::format("{}: cannot tell what kind of file it is", name));
    throw IoError(fmt::format("{}: is {}, not {}", name, kind_of(st.st_mode), what));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  RegularFile out;
  out.file.reset(::fdopen(fd, "rb"));
  if (!out.file) {
    const int err = errno;
    ::close(fd);
    throw IoError(fmt::format("{}: cannot open: {}", name, std::strerror(err)));
  }
  out.size = static_cast<std::uint64_t>(st.st_size);
  return out;
}

std::vector<std::uint8_t> read_regular_file(const std::filesystem::path& path, std::string_view what) {
  RegularFile opened = open_regular_file(path, what);
  std::FILE* file = opened.file.get();
  // One read into a buffer of the size reported at open, then whatever may follow (the file may grow).
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(opened.size));
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
  std::uint8_t chunk[1 << 16];
  while (std::size_t n = std::fread(chunk, 1, sizeof chunk, file))
    bytes.insert(bytes.end(), chunk, chunk + n);
  if (std::ferror(file))
    throw IoError(
        fmt::format("{}: read error after {} bytes: {}", path.string(), bytes.size(), std::strerror(errno)));
  return bytes;
}

}  // namespace bend
