// bend import: PyTorch's torch.onnx.export files (nn.Sequential MLP and CNN) and bend's own exports become
// bend models whose probabilities equal the source's; eval and train --init-from use them; what bend
// cannot read is one line.
#if BEND_HAVE_ONNX
#include "build_paths.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bend/onnx/onnx.hpp"
#include "onnx_support.hpp"
#include "scratch_files.hpp"

namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using namespace bend::testing::onnx_support;
using bend::testing::CommandResult;
using bend::testing::run_command;
using bend::testing::ScratchDir;
using Catch::Contains;

namespace {

CommandResult bend_cli(const std::string& args) {
  return run_command(std::string(BEND_CLI_PATH) + " " + args);
}

bool require_torch() {
  return bend::testing::require_available(
      run_command("/usr/bin/python3 -c 'import torch'").code == 0, "PyTorch",
      "apt-get install python3-torch (scripts/install-deps.sh --test does)");
}

std::int64_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("ONNX import: PyTorch's exported MLP and CNN give PyTorch's probabilities in bend",
          "[onnx][import][torch][mnist]") {
  if (!require_mnist() || !require_python_onnx() || !require_torch()) return;
  ScratchDir dir("bend_onnx_torch");
  const bend::Tensor images = mnist_test_images(1000);
  write_floats(dir.path() / "images.f32", images.span());
  const CommandResult made =
      run_command("/usr/bin/python3 '" + std::string(BEND_SOURCE_DIR) + "/scripts/torch_onnx_models.py' '" +
                  dir.path().string() + "' '" + (dir.path() / "images.f32").string() + "' 1000");
  INFO(made.out);
  REQUIRE(made.code == 0);
  for (const char* name : {"torch-mlp", "torch-cnn"}) {
    INFO(name);
    const fs::path onnx = dir.path() / (std::string(name) + ".onnx"),
                   model = dir.path() / (std::string(name) + ".safetensors");
    const CommandResult imported = bend_cli("import " + onnx.string() + " --save " + model.string());
    INFO(imported.out);
    REQUIRE(imported.code == 0);
    CHECK_THAT(imported.out, Contains("from pytorch"));
    const Agreement a = compare_probabilities(read_floats(dir.path() / (std::string(name) + ".f32")),
                                              bend_probabilities(model, images), 10);
    CHECK(a.max_difference <= 1e-5);
    CHECK(a.label_mismatches == 0);
  }
  // The imported CNN is a bend model: eval reads it and train starts from its weights.
  const std::string cnn = (dir.path() / "torch-cnn.safetensors").string(),
                    data = " --data-dir " + mnist_dir().string();
  const CommandResult eval = bend_cli("eval --model " + cnn + data);
  INFO(eval.out);
  CHECK(eval.code == 0);
  CHECK_THAT(eval.out, Contains("accuracy"));
  const CommandResult info = bend_cli("info " + cnn);
  CHECK_THAT(info.out, Contains("1x28x28-c6k5p2-p2-c8k3d2-ap2-f-32-10"));
  const CommandResult train = bend_cli("train --init-from " + cnn +
                                       " --arch 1x28x28-c6k5p2-p2-c8k3d2-ap2-f-32-10 "
                                       "--act relu,silu,relu --epochs 1 --train-limit 256 --test-limit 100 "
                                       "--checkpoint-dir " +
                                       (dir.path() / "ck").string() + data);
  INFO(train.out);
  CHECK(train.code == 0);

  // What bend cannot read: one line each, naming the node, op and attribute, the opset, the input.
  const std::pair<const char*, std::vector<const char*>> refused[] = {
      {"grouped-conv", {"node 'conv1' (Conv)", "attribute group=2"}},
      {"opset18", {"opset 18 is newer than bend reads (17)"}},
      {"wide-input", {"100 inputs", "mnist has 1x28x28 samples"}},
      {"unknown-op", {"node 'top3' (TopK)", "axis=1"}},
  };
  for (const auto& [name, words] : refused) {
    INFO(name);
    const CommandResult r = bend_cli("import " + (dir.path() / (std::string(name) + ".onnx")).string() +
                                     " --save " + (dir.path() / "refused.safetensors").string());
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(lines(r.out) == 1);
    for (const char* w : words) CHECK_THAT(r.out, Contains(w));
    CHECK_FALSE(fs::exists(dir.path() / "refused.safetensors"));
  }
}

TEST_CASE("ONNX export then import: a trained, standardized CNN comes back with the same probabilities",
          "[onnx][import][export][mnist]") {
  if (!require_mnist() || !require_onnxruntime()) return;
  ScratchDir dir("bend_onnx_round_trip");
  const std::string model = (dir.path() / "m.safetensors").string(), onnx = (dir.path() / "m.onnx").string(),
                    back = (dir.path() / "back.safetensors").string();
  const CommandResult train = bend_cli(
      "train --arch 1x28x28-c4k5-p2-c8k3-p2-32-10 --act gelu --norm batch --standardize "
      "--epochs 1 --train-limit 1000 --test-limit 100 --seed 3 --checkpoint-dir " +
      (dir.path() / "ck").string() + " --save " + model + " --data-dir " + mnist_dir().string());
  INFO(train.out);
  REQUIRE(train.code == 0);
  const CommandResult exported = bend_cli("export " + model + " --onnx " + onnx);
  INFO(exported.out);
  REQUIRE(exported.code == 0);
  const bend::Tensor images = mnist_test_images(1000);
  const std::vector<float> bend_p = bend_probabilities(model, images);
  const auto ort = ort_probabilities({{onnx, {1000, 1, 28, 28}}}, images, dir.path());
  const Agreement with_ort = compare_probabilities(ort[0], bend_p, 10);
  CHECK(with_ort.max_difference <= 1e-5);
  CHECK(with_ort.label_mismatches == 0);

  const CommandResult imported = bend_cli("import " + onnx + " --save " + back);
  INFO(imported.out);
  REQUIRE(imported.code == 0);
  CHECK_THAT(imported.out, Contains("1x28x28-c4k5-p2-c8k3-p2-f-32-10") && Contains("from bend"));
  const Agreement round_trip = compare_probabilities(bend_probabilities(back, images), bend_p, 10);
  CHECK(round_trip.max_difference <= 1e-6);
  CHECK(round_trip.label_mismatches == 0);
  const CommandResult info = bend_cli("info " + back);
  CHECK_THAT(info.out, Contains("norm: batch"));

  // A corrupt or truncated file is one line.
  std::string bytes = bend::testing::read_text_file(onnx);
  for (const std::size_t keep : {bytes.size() / 2, std::size_t{7}}) {
    std::ofstream(dir.path() / "cut.onnx", std::ios::binary) << bytes.substr(0, keep);
    const CommandResult r = bend_cli("import " + (dir.path() / "cut.onnx").string() + " --save " + back);
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(lines(r.out) == 1);
    CHECK_THAT(r.out, Contains("cut.onnx"));
  }
}

}  // namespace BEND_UNITY_ID
#endif
