#pragma once
// Failpoints in the atomic write path (write_file_atomically), for crash tests: the environment variable
// BEND_FAILPOINT makes a chosen write stop the process at one of its steps, or fail as on a full disk.
//
//   BEND_FAILPOINT=POINT[:N][@TEXT]
//
//   POINT  after-write   SIGKILL this process once the temporary file is written and fsynced, before the
//                        rename (the temporary file stays; the target is the old file)
//          after-rename  SIGKILL it after the rename, before the directory is fsynced
//          enospc        the write fails with "No space left on device" (ENOSPC), as on a full disk; from
//                        the N-th matching write on, since a full disk stays full
//   N      the N-th matching write of this process fires (default 1)
//   TEXT   only writes whose target file name contains TEXT count (e.g. @checkpoint)
//
// Unset or empty: no failpoint (one getenv per process). A malformed value is an error on the first write.
#include <filesystem>

namespace bend {

enum class Failpoint { AfterWrite, AfterRename, Enospc };

// Whether the failpoint `point` fires for this write of `target`. Counts the writes that match the
// variable's point and filter (call it once per write and point). Thread-safe.
bool failpoint_fires(Failpoint point, const std::filesystem::path& target);

// Stops the process at once, as a crash would (SIGKILL): no destructors, no flush.
[[noreturn]] void failpoint_kill();

}  // namespace bend
