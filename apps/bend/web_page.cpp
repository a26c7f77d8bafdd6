// bend export MODEL --web DIR: the page's files, model.json and onnxruntime-web's files (see web_page.hpp).
#include "web_page.hpp"

#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/train/checkpoint.hpp"

namespace bend::cli {
namespace {

constexpr std::array<std::string_view, 3> kRuntimeFiles = {"ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                                                           "ort-wasm-simd-threaded.wasm"};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) throw IoError(fmt::format("bend export --web: cannot read {}", path.string()));
  return bytes;
}

std::string metadata_value(const nn::Metadata& metadata, const std::string& key, std::string fallback) {
  const auto it = metadata.find(key);
  return it == metadata.end() || it->second.empty() ? fallback : it->second;
}

// "784-256-128-10 (relu,relu), mnist, 97.33% test accuracy": what the page says about its model.
std::string describe(const nn::LoadedModel& loaded, const std::filesystem::path& model_file) {
  std::string text = fmt::format("{}: {} ({})", model_file.filename().string(), loaded.spec.arch_string(),
                                 loaded.spec.act_string());
  const std::string dataset = metadata_value(loaded.metadata, "bend.dataset", "");
  if (!dataset.empty()) text += fmt::format(", trained on {}", dataset);
  const std::string accuracy = metadata_value(loaded.metadata, "bend.test_accuracy", "");
  if (!accuracy.empty()) {
    char* end = nullptr;
    const double value = std::strtod(accuracy.c_str(), &end);
    if (end != accuracy.c_str() && *end == '\0') text += fmt::format(", {:.2f}% test accuracy", 100 * value);
  }
  return text;
}

}  // namespace

std::span<const std::string_view> web_runtime_files() { return kRuntimeFiles; }

std::filesystem::path web_runtime_dir() {
  const char* dir = std::getenv("BEND_ONNXRUNTIME_WEB");
  return dir && *dir ? std::filesystem::path(dir) : std::filesystem::path(web_runtime_default_dir());
}

void write_web_page(const nn::LoadedModel& loaded, const std::filesystem::path& model_file,
                    const std::filesystem::path& dir) {
  const nn::SampleShape& input = loaded.spec.input;
  const bool grey_28x28 = input == nn::SampleShape{784} || input == nn::SampleShape{1, 28, 28};
  if (!grey_28x28)
    throw ValueError(fmt::format("bend export --web: the page draws one 28x28 grey image, but {} takes {}",
                                 model_file.string(), nn::sample_shape_string(input)));
  const std::filesystem::path runtime = web_runtime_dir();
  for (std::string_view name : kRuntimeFiles)
    if (!std::filesystem::is_regular_file(runtime / name))
      throw IoError(fmt::format(
          "bend export --web: onnxruntime-web's {} is not in {}; install it with `npm ci --ignore-scripts "
          "--prefix tools/web` in bend's source tree (or set BEND_ONNXRUNTIME_WEB to its dist directory)",
          name, runtime.string()));

  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    throw IoError(fmt::format("bend export --web: cannot create {}: {}", dir.string(), error.message()));
  for (const WebPageFile& file : web_page_files()) write_file_atomically(dir / file.name, file.text);
  for (std::string_view name : kRuntimeFiles) write_file_atomically(dir / name, read_file(runtime / name));

  nlohmann::json info;
  info["model"] = kWebModelFile;
  info["input"] = input;
  info["output"] = "probabilities";
  // Informational: the exported graph standardises raw pixels itself, so the page feeds them as they are.
  const std::optional<Normalization> normalization = train::read_normalization(loaded.metadata, model_file);
  info["standardized_in_model"] =
      normalization ? nlohmann::json{{"mean", normalization->mean}, {"std", normalization->std}}
                    : nlohmann::json(nullptr);
  nlohmann::json classes = nlohmann::json::array();
  for (std::int64_t k = 0; k < loaded.spec.outputs(); ++k) classes.push_back(std::to_string(k));
  info["classes"] = classes;
  info["description"] = describe(loaded, model_file);
  write_file_atomically(dir / "model.json", info.dump(2) + "\n");
}

}  // namespace bend::cli
