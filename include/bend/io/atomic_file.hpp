#pragma once
// Crash-safe file replacement: the bytes go to a temporary file next to the target, which is flushed,
// fsynced and then renamed over the target. Readers see either the old file or the complete new
// one, never a torn mix, and a failed write leaves the old file exactly as it was.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace bend {

// Replaces the file at `path` with what `write` sends to the stream it is given.
//
// The temporary file is `.<name>.tmp.<pid>.<counter>` in the same directory (so the rename stays on
// one filesystem). On any failure -- an exception thrown by `write`, the stream going bad, a write
// or fsync error, disk full, a failed rename -- the temporary file is removed and bend::IoError is
// thrown naming `path`; the previous file at `path`, if any, is untouched. An exception from `write`
// is nested inside the IoError (std::rethrow_if_nested gets it back).
//
// Anything at `path` but a regular file or a symbolic link (a device node, a FIFO, a directory) is
// refused with bend::IoError before anything is written. A missing or unwritable directory is named
// as such in the error. If `path` is a symbolic link, the link itself is replaced by a regular file. The new
// file gets mode 0666 minus the umask, like a file opened with std::ofstream.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(std::ostream&)>& write);

// Same, with the whole content given up front.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Removes the temporary files (`.<name>.tmp.<pid>.<counter>`) that processes killed in the middle of a
// write left in `directory`: those whose process is no longer running on this machine. A SIGKILL during
// a checkpoint write left one of up to 70 MB for good. Returns how many were removed; errors (a
// missing or unreadable directory, a file that cannot be removed) are ignored: this is housekeeping.
int remove_stale_temporaries(const std::filesystem::path& directory);

}  // namespace bend
