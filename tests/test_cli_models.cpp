// Models from the CLI: --model presets, --arch specs and --norm through `bend train`, `eval`, `predict`,
// `info` and `compare`; and the files bend saves from a spec loaded into the same torch.nn.Sequential
// by scripts/torch_load_model.py.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "bend/autograd.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/serialize.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

namespace fs = std::filesystem;
using Run = bend::testing::CommandResult;

const fs::path kMnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";

// The numbers of a "key: [[...], ...]" line, in order.
std::vector<double> numbers_after(const std::string& text, const std::string& key) {
  std::vector<double> out;
  const auto pos = text.find(key);
  if (pos == std::string::npos) return out;
  const auto end = text.find('\n', pos);
  const std::string line = text.substr(pos + key.size(), end - pos - key.size());
  for (const char* p = line.c_str(); *p;) {
    if (*p == '[' || *p == ']' || *p == ',' || *p == ' ') {
      ++p;
      continue;
    }
    char* next = nullptr;
    out.push_back(std::strtod(p, &next));
    if (next == p) break;
    p = next;
  }
  return out;
}

// The test rows of torch_load_model.py: row r, value j = ((7 r + 13 j) % 17) / 16.
bend::Tensor script_rows(std::int64_t rows, std::int64_t features) {
  bend::Tensor x = bend::Tensor::zeros({rows, features});
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < features; ++j)
      x.data()[r * features + j] = static_cast<float>((7 * r + 13 * j) % 17) / 16.0f;
  return x;
}

}  // namespace

TEST_CASE("torch_load_model.py loads bend's CNN files into the same nn.Sequential", "[model_spec][torch]") {
  if (!bend::testing::require_available(
          std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0,
          "PyTorch for /usr/bin/python3", "apt-get install python3-torch (scripts/install-deps.sh does)"))
    return;
  const fs::path dir = fs::temp_directory_path() / "bend_test_torch_load_model";
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Case {
    const char* arch;
    const char* acts;
    const char* norm;
    float dropout;
  };
  for (const Case c : {Case{"1x12x12-c4k3p1-p2-c6k3s2d1-ap2s1-24-5", "relu,gelu,tanh", "batch", 0.1f},
                       Case{"1x8x8-c3k3-drop2d0.2-ln-f-12-4", "silu,elu", "layer", 0.0f},
                       Case{"20-16-bn-8-3", "leaky_relu", "none", 0.2f}}) {
    INFO(c.arch << " " << c.acts << " norm " << c.norm);
    const bend::nn::ModelSpec spec = bend::nn::ModelSpec::parse(c.arch, c.acts, c.norm, c.dropout);
    bend::Rng rng(2);
    bend::nn::Sequential net = bend::nn::build_model(spec, bend::nn::init::Scheme::Torch, rng);
    // Three training-mode passes: running statistics and num_batches_tracked move.
    const bend::Tensor batch = script_rows(4, spec.input_features());
    for (int i = 0; i < 3; ++i) net(batch);
    const fs::path file = dir / "model.safetensors";
    bend::nn::save_model(file, net, spec);

    const Run torch =
        bend::testing::run_command("/usr/bin/python3 " + std::string(BEND_SOURCE_DIR) +
                                   "/scripts/torch_load_model.py " + file.string() + " --rows 2");
    INFO(torch.out);
    REQUIRE(torch.code == 0);
    CHECK_THAT(torch.out,
               Catch::Contains("OK") && Catch::Contains("modules: " + std::to_string(spec.layers.size())));
    // num_batches_tracked (float32 in bend's file) arrived in PyTorch's int64 buffers as 3.
    for (double tracked : numbers_after(torch.out, "num_batches_tracked: ")) CHECK(tracked == 3.0);
    const std::vector<double> torch_out = numbers_after(torch.out, "outputs: ");
    net.eval();
    bend::NoGradGuard no_grad;
    const bend::Tensor out = net(script_rows(2, spec.input_features()));
    REQUIRE(torch_out.size() == static_cast<std::size_t>(out.numel()));
    for (std::int64_t k = 0; k < out.numel(); ++k)
      CHECK(out.data()[k] == Approx(torch_out[static_cast<std::size_t>(k)]).margin(1e-4));
  }
  fs::remove_all(dir);
}

#ifdef BEND_CLI_PATH
namespace {

Run bend_cli(const std::string& args) {
  return bend::testing::run_command(std::string(BEND_CLI_PATH) + " " + args);
}

}  // namespace

TEST_CASE("CLI: --model, --arch and --norm are checked before any data is read", "[cli][model_spec]") {
  using Catch::Contains;
  const Run unknown = bend_cli("train --model resnet");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.out, Contains("--model 'resnet': no such preset (presets: mlp, lenet5, vit)"));
  CHECK(bend_cli("train --model lenet5 --arch 784-10").code == 2);
  const Run kernel = bend_cli("train --arch c6k5-p2-c16k30-10");
  CHECK(kernel.code == 2);
  CHECK_THAT(kernel.out, Contains("layer 3 ('c16k30', input 6x12x12)"));
  CHECK(bend_cli("train --model lenet5 --norm group").code == 2);
  CHECK(bend_cli("train --model lenet5 --act relu,gelu").code == 2);
  const Run wide = bend_cli("train --arch 1x32x32-c6k5-10");
  CHECK(wide.code == 1);
  CHECK_THAT(wide.out, Contains("mnist has 1x28x28 samples (784 values)"));
  const Run help = bend_cli("help train");
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Contains("c<out>k<kernel>[s<stride>][p<padding>][d<dilation>]") &&
                           Contains("lenet5") && Contains("--norm"));
  for (const char* command : {"eval", "predict", "info", "compare"}) {
    INFO(command);
    CHECK_THAT(bend_cli(std::string(command) + " --help").out, Contains("--arch") && Contains("--norm"));
  }
}

TEST_CASE("CLI: a small CNN trains, and eval, predict, info and resume read its files",
          "[cli][mnist][model_spec]") {
  if (!bend::testing::require_available(fs::exists(kMnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh"))
    return;
  using Catch::Contains;
  const fs::path dir = fs::temp_directory_path() / "bend_test_cli_models";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = " --data-dir " + kMnist.string();
  const std::string model = (dir / "cnn.safetensors").string();

  const Run train = bend_cli(
      "train --arch c4k5-p2-16-10 --norm batch --train-limit 512 --test-limit 200 --epochs 3 "
      "--batch 32 --seed 1 --json --checkpoint-dir " +
      (dir / "ck").string() + " --save " + model + data);
  INFO(train.out);
  REQUIRE(train.code == 0);
  // The loss falls from the first epoch to the third.
  std::vector<double> losses;
  std::istringstream lines(train.out);
  for (std::string line; std::getline(lines, line);)
    if (const auto pos = line.find("\"train_loss\":"); pos != std::string::npos)
      losses.push_back(std::strtod(line.c_str() + pos + 13, nullptr));
  REQUIRE(losses.size() == 3);
  CHECK(losses[2] < losses[0]);

  const Run info = bend_cli("info " + model);
  INFO(info.out);
  CHECK(info.code == 0);
  CHECK_THAT(info.out, Contains("architecture: 1x28x28-c4k5-p2-16-10  activations: relu,relu  norm: batch") &&
                           Contains("BatchNorm2d(4") && Contains("[1, 4, 12, 12]") &&
                           Contains("1.running_mean"));
  const Run eval = bend_cli("eval --model " + model + data);
  INFO(eval.out);
  CHECK(eval.code == 0);
  CHECK_THAT(eval.out, Contains("test: 10000 images"));
  const Run predict = bend_cli("predict --model " + model + " --index 3" + data);
  INFO(predict.out);
  CHECK(predict.code == 0);
  CHECK_THAT(predict.out, Contains("1. class"));

  // The checkpoint of one architecture does not resume another.
  const Run other =
      bend_cli("train --arch c8k5-p2-16-10 --norm batch --train-limit 512 --epochs 4 --resume " +
               (dir / "ck" / "checkpoint.safetensors").string() + " --checkpoint-dir " +
               (dir / "ck2").string() + data);
  INFO(other.out);
  CHECK(other.code == 1);
  CHECK_THAT(other.out, Contains("bend.arch: file '1x28x28-c4k5-p2-16-10', run '1x28x28-c8k5-p2-16-10'"));

  // LeNet-5 with batch norm: the classic geometry.
  const Run lenet = bend_cli(
      "train --model lenet5 --norm batch --steps 2 --epochs 1 --train-limit 128 "
      "--test-limit 100 --checkpoint-dir " +
      (dir / "ck3").string() + data);
  INFO(lenet.out);
  CHECK(lenet.code == 0);
  CHECK_THAT(lenet.out, Contains("Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))") &&
                            Contains("[1, 16, 5, 5]") &&
                            Contains("Linear(in_features=400, out_features=120"));

  // compare trains the preset once per activation.
  const Run compare = bend_cli(
      "compare --model lenet5 --acts relu,gelu --epochs 1 --train-limit 128 "
      "--test-limit 100 --probe 50 --out " +
      (dir / "compare").string() + data);
  INFO(compare.out);
  CHECK(compare.code == 0);
  CHECK_THAT(compare.out, Contains("ranking (test accuracy)"));
  fs::remove_all(dir);
}
#endif

}  // namespace BEND_UNITY_ID
