#pragma once
// Reader for IDX files, the container format of MNIST and Fashion-MNIST: two zero bytes, a dtype
// byte, the number of dimensions, one big-endian uint32 per dimension, then the elements.
// Raw and gzip-compressed files are both accepted (recognised by content, not by file name).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace bend {

// IDX dtype code of unsigned bytes, the only element type bend reads.
inline constexpr std::uint8_t kIdxUnsignedByte = 0x08;

// A decoded IDX file: its dimensions and its elements in file (row-major) order.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> bytes;
  std::uint8_t dtype = kIdxUnsignedByte;

  // Product of dims (number of elements).
  std::size_t element_count() const {
    std::size_t count = 1;
    for (std::uint32_t d : dims) count *= d;
    return count;
  }
};

// Parses an IDX file held in memory, raw or gzip-compressed (starts with 1f 8b). Validates the
// magic, dtype (only 0x08 is supported), ndims (1..4) and that the length matches the dimensions
// exactly. Throws bend::IoError whose message starts with name_for_errors and names the problem
// and byte offset. Never reads outside `data`, whatever it holds.
IdxArray parse_idx(std::span<const std::uint8_t> data, std::string_view name_for_errors);

// Reads and parses an IDX file (raw or gzip). Throws bend::IoError naming the file if it is
// missing, unreadable or malformed.
IdxArray read_idx(const std::filesystem::path& path);

}  // namespace bend
