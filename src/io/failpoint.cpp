// BEND_FAILPOINT: crash and disk-full injection in the atomic write path (bend/io/failpoint.hpp).
#include "bend/io/failpoint.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {

namespace {

struct FailpointSetting {
  Failpoint point = Failpoint::AfterWrite;
  std::int64_t nth = 1;
  std::string filter;
};

FailpointSetting parse_failpoint(const std::string& text) {
  FailpointSetting s;
  std::string rest = text;
  if (const auto at = rest.find('@'); at != std::string::npos) {
    s.filter = rest.substr(at + 1);
    rest.resize(at);
  }
  if (const auto colon = rest.find(':'); colon != std::string::npos) {
    const std::string count = rest.substr(colon + 1);
    char* end = nullptr;
    const long long n = std::strtoll(count.c_str(), &end, 10);
    if (count.empty() || *end != '\0' || n < 1)
      throw ValueError(
          fmt::format("BEND_FAILPOINT='{}': the count after ':' must be a positive integer", text));
    s.nth = n;
    rest.resize(colon);
  }
  if (rest == "after-write")
    s.point = Failpoint::AfterWrite;
  else if (rest == "after-rename")
    s.point = Failpoint::AfterRename;
  else if (rest == "enospc")
    s.point = Failpoint::Enospc;
  else
    throw ValueError(fmt::format(
        "BEND_FAILPOINT='{}': the point must be after-write, after-rename or enospc (then :N, @TEXT)", text));
  return s;
}

// The variable, read once; nothing when it is unset or empty.
const std::optional<FailpointSetting>& setting() {
  static const std::optional<FailpointSetting> s = []() -> std::optional<FailpointSetting> {
    const char* value = std::getenv("BEND_FAILPOINT");
    if (value == nullptr || *value == '\0') return std::nullopt;
    return parse_failpoint(value);
  }();
  return s;
}

std::atomic<std::int64_t> g_matching_writes{0};

}  // namespace

bool failpoint_fires(Failpoint point, const std::filesystem::path& target) {
  const auto& s = setting();
  if (!s || s->point != point) return false;
  if (!s->filter.empty() && target.filename().string().find(s->filter) == std::string::npos) return false;
  const std::int64_t count = ++g_matching_writes;
  return point == Failpoint::Enospc ? count >= s->nth : count == s->nth;
}

void failpoint_kill() {
  ::kill(::getpid(), SIGKILL);
  std::abort();  // (not reached)
}

}  // namespace bend
