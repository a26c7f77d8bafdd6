// --profile, --profile-trace and --profile-steps (train, train --model gpt, compare): a
// train::Profiler around the command's observer, its table after the run and its Chrome trace.
#include <cstdio>

#include <fmt/format.h>

#include "cli.hpp"

namespace bend::cli {

void add_profile_flags(cxxopts::Options& options) {
  options.add_options("Profiling")(
      "profile",
      "print where the time went: each op's forward and backward time, calls and share, then "
      "data, optimizer, evaluation (like torch.profiler's key_averages)")(
      "profile-trace",
      "write a Chrome trace JSON of the run to FILE (open it in ui.perfetto.dev): a track per thread, a "
      "span per step, phase and op; implies --profile",
      cxxopts::value<std::string>())(
      "profile-steps", "profile the first N steps only (default: every step; the trace keeps the first 100)",
      cxxopts::value<std::int64_t>());
}

void check_profile_flags(const cxxopts::ParseResult& a) {
  if (!a.count("profile") && !a.count("profile-trace")) {
    if (a.count("profile-steps")) throw UsageError("--profile-steps needs --profile or --profile-trace");
    return;
  }
  if (a.count("profile-steps")) {
    const std::int64_t n = a["profile-steps"].as<std::int64_t>();
    if (n <= 0) throw UsageError(fmt::format("--profile-steps must be positive, got {}", n));
  }
  if (a.count("profile-trace")) {
    const std::filesystem::path trace = a["profile-trace"].as<std::string>();
    const std::filesystem::path dir = trace.has_parent_path() ? trace.parent_path() : ".";
    if (trace.empty() || !std::filesystem::is_directory(dir))
      throw UsageError(fmt::format("--profile-trace '{}': the directory '{}' does not exist",
                                   printable(trace.string()), printable(dir.string())));
  }
}

std::unique_ptr<train::Profiler> make_profiler(const cxxopts::ParseResult& a, train::TrainObserver* next) {
  check_profile_flags(a);
  if (!a.count("profile") && !a.count("profile-trace")) return nullptr;
  train::ProfilerOptions options;
  if (a.count("profile-steps")) {
    options.max_steps = a["profile-steps"].as<std::int64_t>();
    options.trace_steps = options.max_steps;
  }
  return std::make_unique<train::Profiler>(next, options);
}

void finish_profile(train::Profiler* profiler, const cxxopts::ParseResult& a, bool to_stderr) {
  if (!profiler) return;
  const std::string table = profiler->report().table();
  std::fputs(table.c_str(), to_stderr ? stderr : stdout);
  if (a.count("profile-trace")) {
    const std::filesystem::path trace = a["profile-trace"].as<std::string>();
    profiler->write_trace(trace);
    fmt::print(to_stderr ? stderr : stdout,
               "trace written to {} (open it in ui.perfetto.dev: Open trace file)\n", trace.string());
  }
}

}  // namespace bend::cli
