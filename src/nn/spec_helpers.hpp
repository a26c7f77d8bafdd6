#pragma once
// Helpers shared by the two model specs (MlpSpec in mlp.cpp, ModelSpec in model_spec.cpp): activation
// names as the table spells them, and the memory figures of "needs 292 GiB" messages.
#include <unistd.h>

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "bend/activations.hpp"

namespace bend::nn::detail {

// The table's name for `name` ("swiglu" stays itself); throws for an unknown name, resolves aliases.
inline std::string canonical_activation(std::string_view name) {
  if (name == "swiglu") return "swiglu";
  return std::string(activation(name).name);
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
