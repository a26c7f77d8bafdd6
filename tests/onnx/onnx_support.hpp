#pragma once
// Helpers of the ONNX tests (tests/test_onnx_*.cpp): onnx.checker through Debian's Python, ONNX Runtime
// through tools/onnx/run.js (onnxruntime-node), bend's own probabilities, and MNIST's test images.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bend/data/registry.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "build_paths.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

namespace bend::testing::onnx_support {

// What the ONNX tests use besides the helpers below, brought in with them by
// `using namespace bend::testing::onnx_support`.
namespace fs = std::filesystem;
using bend::testing::ScratchDir;

inline std::filesystem::path mnist_dir() { return std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist"; }
inline std::filesystem::path onnx_tools() {
  return std::filesystem::path(BEND_SOURCE_DIR) / "tools" / "onnx";
}

inline bool require_mnist() {
  return require_available(std::filesystem::exists(mnist_dir() / "t10k-images-idx3-ubyte"),
                           "MNIST in " + mnist_dir().string(), "run data/fetch-mnist.sh");
}
inline bool require_python_onnx() {
  return require_available(run_command("/usr/bin/python3 -c 'import onnx'").code == 0, "python3-onnx",
                           "apt-get install python3-onnx (scripts/install-deps.sh --test does)");
}
inline bool require_onnxruntime() {
  return require_available(std::filesystem::exists(onnx_tools() / "node_modules" / "onnxruntime-node"),
                           "onnxruntime-node in tools/onnx/node_modules",
                           "scripts/install-deps.sh --test (npm ci --ignore-scripts in tools/onnx)");
}

// onnx.checker.check_model(full_check=True) on every file, in one Python run; its output when one fails.
inline CommandResult check_with_onnx_checker(const std::vector<std::filesystem::path>& files) {
  std::string command =
      "/usr/bin/python3 -c 'import onnx, sys\n"
      "for f in sys.argv[1:]:\n"
      "    onnx.checker.check_model(onnx.load(f), full_check=True)\n"
      "print(\"checked\", len(sys.argv) - 1)'";
  for (const auto& f : files) command += " '" + f.string() + "'";
  return run_command(command);
}

// The first `count` MNIST test images, [count, 784] in [0, 1].
inline Tensor mnist_test_images(std::int64_t count) {
  const TensorDataset test = load_dataset("mnist", mnist_dir(), Split::Test);
  return Tensor::from(test.images.span().subspan(0, static_cast<std::size_t>(count * 784)), {count, 784});
}

inline void write_floats(const std::filesystem::path& path, std::span<const float> values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size_bytes()));
}

inline std::vector<float> read_floats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<float> out(static_cast<std::size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
  return out;
}

struct OrtJob {
  std::filesystem::path model;
  std::vector<std::int64_t> dims;  // the input's shape; the input is `images` reshaped
};

// ONNX Runtime's "probabilities" for each job on `images` (one node run for all jobs), flat [N * classes].
inline std::vector<std::vector<float>> ort_probabilities(const std::vector<OrtJob>& jobs,
                                                         const Tensor& images,
                                                         const std::filesystem::path& dir) {
  write_floats(dir / "images.f32", images.span());
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < jobs.size(); ++i)
    list.push_back({{"model", jobs[i].model.string()},
                    {"input", (dir / "images.f32").string()},
                    {"dims", jobs[i].dims},
                    {"output", (dir / ("ort" + std::to_string(i) + ".f32")).string()}});
  std::ofstream(dir / "jobs.json") << list.dump();
  const CommandResult r =
      run_command("node '" + (onnx_tools() / "run.js").string() + "' '" + (dir / "jobs.json").string() + "'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  std::vector<std::vector<float>> out;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    out.push_back(read_floats(dir / ("ort" + std::to_string(i) + ".f32")));
  return out;
}

// bend's softmax probabilities of a saved model on `images` [N, 784] (standardized as its metadata says).
inline std::vector<float> bend_probabilities(const std::filesystem::path& model_path, const Tensor& images) {
  nn::LoadedModel loaded = nn::load_model(model_path);
  loaded.model.eval();
  Tensor x = images.clone();
  if (const auto mean = loaded.metadata.find("bend.input_mean"); mean != loaded.metadata.end()) {
    const float m = std::stof(mean->second), s = std::stof(loaded.metadata.at("bend.input_std"));
    for (float& v : x.span()) v = (v - m) / s;
  }
  return softmax(loaded.model.forward(x), 1).to_vector();
}

struct Agreement {
  double max_difference = 0;
  std::int64_t label_mismatches = 0;
};

inline Agreement compare_probabilities(const std::vector<float>& a, const std::vector<float>& b,
                                       std::int64_t classes) {
  REQUIRE(a.size() == b.size());
  Agreement out;
  for (std::size_t i = 0; i < a.size(); ++i)
    out.max_difference = std::max(out.max_difference, std::abs(static_cast<double>(a[i]) - b[i]));
  const auto n = static_cast<std::int64_t>(a.size()) / classes;
  for (std::int64_t r = 0; r < n; ++r) {
    const auto row_a = a.begin() + r * classes, row_b = b.begin() + r * classes;
    if (std::max_element(row_a, row_a + classes) - row_a != std::max_element(row_b, row_b + classes) - row_b)
      ++out.label_mismatches;
  }
  return out;
}

}  // namespace bend::testing::onnx_support
