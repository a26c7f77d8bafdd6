#pragma once
// One run of a `bend compare` sweep as a file: <out>/runs/<activation>-seed<seed>.json, written
// atomically as soon as the run ends, so that an interrupted sweep can be resumed (`--resume` runs
// only the runs whose file is missing) and so that MPI ranks can send their runs to rank 0 in the
// same form. Every number round-trips exactly (non-finite ones as the strings "nan", "inf", "-inf").
//
// A file records the sweep's fingerprint: the settings that decide a run's numbers (data, model,
// optimizer, schedule, batch, epochs, limits, probe size; not the thread count, the run's seed and
// activation are in the file name). Resuming with other settings is refused rather than mixing runs.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "bend/lab/compare.hpp"

namespace bend::lab {

// The settings every run of the sweep shares, as a canonical one-line JSON text.
std::string sweep_fingerprint(const CompareOptions& options);

// <dir>/runs/<activation>-seed<seed>.json
std::filesystem::path run_file_path(const std::filesystem::path& dir, const std::string& activation,
                                    std::uint64_t seed);

// A run as JSON text (everything in RunRecord, plus the fingerprint), and back. parse_run_record
// throws IoError naming `source` when the text is malformed.
std::string run_record_json(const RunRecord& record, const std::string& fingerprint);
RunRecord parse_run_record(std::string_view json, const std::string& source,
                           std::string* fingerprint = nullptr);

// Writes the run's file atomically (creating <dir>/runs). Throws IoError.
void save_run_record(const std::filesystem::path& dir, const RunRecord& record,
                     const std::string& fingerprint);

// The run's file if there is one (nullopt when missing). Throws ValueError when the file was written by
// a sweep with other settings, IoError when it cannot be read or parsed.
std::optional<RunRecord> load_run_record(const std::filesystem::path& dir, const std::string& activation,
                                         std::uint64_t seed, const std::string& fingerprint);

}  // namespace bend::lab
