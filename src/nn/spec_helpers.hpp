#pragma once
// Helpers shared by the two model specs (MlpSpec in mlp.cpp, ModelSpec in model_spec.cpp): activation
// names as the table spells them, reading their metadata, and the memory figures of "needs 292 GiB"
// messages.
#include <unistd.h>

#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"

namespace bend::nn::detail {

// The table's name for `name` ("swiglu" stays itself); throws for an unknown name, resolves aliases.
inline std::string canonical_activation(std::string_view name) {
  if (name == "swiglu") return "swiglu";
  return std::string(activation(name).name);
}

// `s` cut at every `sep` ("a-b--c" -> "a", "b", "", "c"); one part when there is none.
inline std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// A file's metadata value for `key`; empty when absent.
inline std::string metadata_value(const std::map<std::string, std::string>& metadata, const char* key) {
  const auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

// bend.dropout from a file's metadata (0 when absent); ValueError unless a probability in [0, 1).
inline float dropout_from_metadata(const std::map<std::string, std::string>& metadata) {
  float dropout = 0.0f;
  if (const std::string d = metadata_value(metadata, "bend.dropout"); !d.empty()) {
    const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), dropout);
    if (ec != std::errc() || end != d.data() + d.size() || !(dropout >= 0.0f && dropout < 1.0f))
      throw ValueError(fmt::format("model metadata: bend.dropout \"{}\" is not a probability in [0, 1)", d));
  }
  return dropout;
}

// "292 GiB", "1.5 MiB": a byte count for a message.
inline std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 6) bytes /= 1024.0, ++unit;
  return unit == 0 ? fmt::format("{:.0f} bytes", bytes) : fmt::format("{:.3g} {}", bytes, kUnits[unit]);
}

// Physical memory of this machine in bytes (0 when unknown).
inline double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0.0;
}

}  // namespace bend::nn::detail
