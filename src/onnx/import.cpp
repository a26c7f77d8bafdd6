#include "bend/error.hpp"
#include "bend/io/read_file.hpp"
#include "bend/onnx/onnx.hpp"
namespace bend::onnx {
ImportedModel import_model(std::span<const std::uint8_t>, std::string_view) { throw ValueError("not yet"); }
ImportedModel import_file(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_regular_file(path, "ONNX model");
  return import_model(bytes, path.string());
}
}  // namespace bend::onnx
