#pragma once
// Reading and writing the safetensors format (the format of Hugging Face's `safetensors` library,
// which PyTorch users load with safetensors.torch.load_file):
//
//   8 bytes   N, little-endian u64: the length of the header
//   N bytes   UTF-8 JSON object: {"__metadata__": {"key": "value", ...},      (optional)
//                                 "tensor name": {"dtype": "F32", "shape": [2, 3],
//                                                 "data_offsets": [begin, end]}, ...}
//             padded with spaces so the data buffer starts 8-byte aligned
//   the rest  the data buffer: each tensor's bytes, little-endian, row-major, at [begin, end)
//             relative to the buffer's start
//
// The tensors must tile the data buffer exactly: sorted by offset, the first starts at 0, each one
// starts where the previous ended, and the last ends at the end of the file. This layer deals in
// plain float buffers; it knows nothing of bend::Tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bend {

// One tensor read from a file. An empty shape is a 0-d tensor holding one value.
struct SafetensorsTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;  // row-major, numel(shape) values
};

struct SafetensorsFile {
  std::vector<SafetensorsTensor> tensors;  // in data-offset order (ties kept in header order)
  std::map<std::string, std::string> metadata;

  // The tensor with this name, or nullptr.
  const SafetensorsTensor* find(std::string_view name) const;
};

// A tensor to write, without copying it: `data` points to numel(shape) floats (it may be null when
// numel is 0).
struct SafetensorsView {
  std::string_view name;
  std::span<const std::int64_t> shape;
  const float* data;
};

// The biggest header a file may declare; larger ones are refused as corrupt (the reference
// implementation's limit).
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// The bytes of a safetensors file holding `tensors` (dtype F32), laid out in the order given, with
// `metadata` as "__metadata__" (left out when empty). Throws ValueError for duplicate or reserved
// names, negative dimensions, a null data pointer with numel > 0, or strings that are not UTF-8.
std::string serialize_safetensors(std::span<const SafetensorsView> tensors,
                                  const std::map<std::string, std::string>& metadata);

// Writes the same bytes to `path` atomically (write_file_atomically): on failure the previous file
// is untouched. Throws ValueError for bad tensors (before touching the disk), IoError for I/O.
void save_safetensors(const std::filesystem::path& path, std::span<const SafetensorsView> tensors,
                      const std::map<std::string, std::string>& metadata);

// Reads and validates a file. Dtype F32 is read exactly; F16, BF16 (exactly) and F64 (rounded to
// nearest) are converted to float; any other dtype is an error. Throws IoError naming the file and
// what is wrong with it.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// The same from bytes in memory; `name_for_errors` stands for the file name in messages.
SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, std::string_view name_for_errors);

}  // namespace bend
