#pragma once
// Opening files bend reads (datasets, models, images) safely: only regular files are read, so a FIFO,
// a device or a directory given by mistake is an error at once instead of a read that blocks forever
// or never ends.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

namespace bend {

struct RegularFile {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{nullptr, &std::fclose};
  std::uint64_t size = 0;  // as reported when it was opened
};

// Opens `path` for reading. Throws bend::IoError "<path>: no such file", "<path>: is a FIFO, not
// <what>", "<path>: cannot open: <reason>". Opening never blocks (O_NONBLOCK until the type is known).
RegularFile open_regular_file(const std::filesystem::path& path, std::string_view what);

// The whole content of a regular file (see open_regular_file; "<path>: read error ..." on failure).
std::vector<std::uint8_t> read_regular_file(const std::filesystem::path& path, std::string_view what);

}  // namespace bend
