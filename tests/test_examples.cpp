// The C++ examples in apps/, run as a user runs them: the docs' functional-style Net (apps/mnist_net.cpp)
// trains with the Trainer on a slice of MNIST, stops after N steps with a checkpoint, resumes to the same
// weights as an uninterrupted run, and its saved file loads into the same PyTorch nn.Module.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>

#include "bend/bend.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_MNIST_NET_PATH
namespace {

namespace fs = std::filesystem;

using Run = bend::testing::CommandResult;
Run run(const std::string& command) { return bend::testing::run_command(command); }

const fs::path kMnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";

std::vector<float> values_of(const fs::path& file) {
  std::vector<float> all;
  for (const auto& [name, t] : bend::nn::load_tensors(file))
    all.insert(all.end(), t.span().begin(), t.span().end());
  return all;
}

}  // namespace

TEST_CASE("mnist_net: the docs' Net trains, stops with a checkpoint, resumes, and loads in PyTorch",
          "[examples][mnist]") {
  INFO("needs MNIST: run data/fetch-mnist.sh (scripts/test.sh does)");
  REQUIRE(fs::exists(kMnist / "train-labels-idx1-ubyte"));
  const fs::path dir = fs::temp_directory_path() / "bend_test_mnist_net";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string net = std::string(BEND_MNIST_NET_PATH) + " --data-dir " + kMnist.string() +
                          " --train-limit 1280 --epochs 2 --seed 4";

  const Run whole = run(net + " --checkpoint-dir " + (dir / "a").string() + " --save " +
                        (dir / "whole.safetensors").string());
  INFO(whole.out);
  REQUIRE(whole.code == 0);
  CHECK_THAT(whole.out, Catch::Contains("epoch 2:") && Catch::Contains("Net with 235146 parameters"));

  // --steps 25 ends the run inside epoch 2 (20 steps an epoch) and leaves a checkpoint there.
  const Run first = run(net + " --steps 25 --checkpoint-dir " + (dir / "b").string());
  INFO(first.out);
  REQUIRE(first.code == 0);
  REQUIRE(fs::exists(dir / "b" / "checkpoint.safetensors"));
  const Run rest = run(net + " --checkpoint-dir " + (dir / "b").string() + " --resume " +
                       (dir / "b" / "checkpoint.safetensors").string() + " --save " +
                       (dir / "resumed.safetensors").string());
  INFO(rest.out);
  REQUIRE(rest.code == 0);
  CHECK_THAT(rest.out, Catch::Contains("resumed at epoch 2, step 25"));
  CHECK(values_of(dir / "resumed.safetensors") == values_of(dir / "whole.safetensors"));

  // A checkpoint of another model is refused with the reason.
  bend::nn::Metadata metadata;
  auto tensors = bend::nn::load_tensors(dir / "b" / "checkpoint.safetensors", &metadata);
  metadata["bend.model"] = "OtherNet";
  bend::nn::save_tensors(dir / "other.safetensors", tensors, metadata);
  const Run other = run(net + " --resume " + (dir / "other.safetensors").string());
  CHECK(other.code == 1);
  CHECK_THAT(other.out, Catch::Contains("OtherNet"));

  // PyTorch loads the file into the docs' Net (fc1.weight, ...) and computes what bend computes.
  const std::string script = std::string(BEND_SOURCE_DIR) + "/scripts/torch_load_net.py";
  const Run torch = run("/usr/bin/python3 " + script + " " + (dir / "whole.safetensors").string());
  INFO("needs PyTorch for /usr/bin/python3: apt-get install python3-torch (scripts/install-deps.sh does)");
  INFO(torch.out);
  REQUIRE(torch.code == 0);
  REQUIRE_THAT(torch.out, Catch::Contains("OK") && Catch::Contains("model: Net"));
  const auto pos = torch.out.find("ones output: [");
  REQUIRE(pos != std::string::npos);
  std::vector<double> torch_out;
  for (const char* p = torch.out.c_str() + pos + 14; *p && *p != ']';) {
    char* end = nullptr;
    torch_out.push_back(std::strtod(p, &end));
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  REQUIRE(torch_out.size() == 10);
  std::map<std::string, bend::Tensor> w;
  for (auto& [name, t] : bend::nn::load_tensors(dir / "whole.safetensors")) w[name] = t;
  using namespace bend;
  const Tensor ones = Tensor::ones({1, 784});
  const Tensor out =
      linear(gelu(linear(relu(linear(ones, w["fc1.weight"], w["fc1.bias"])), w["fc2.weight"], w["fc2.bias"])),
             w["fc3.weight"], w["fc3.bias"]);
  for (std::size_t k = 0; k < 10; ++k) CHECK(out.data()[k] == Approx(torch_out[k]).margin(1e-5));
  fs::remove_all(dir);
}
#endif

#ifdef BEND_MNIST_MLP_PATH
TEST_CASE("mnist_mlp: takes flags like mnist_net, trains and saves; a positional argument is refused",
          "[examples][mnist]") {
  namespace fs = std::filesystem;
  const fs::path mnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";
  INFO("needs MNIST: run data/fetch-mnist.sh (scripts/test.sh does)");
  REQUIRE(fs::exists(mnist / "train-labels-idx1-ubyte"));
  const fs::path dir = fs::temp_directory_path() / "bend_test_mnist_mlp_flags";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string mlp = BEND_MNIST_MLP_PATH;

  const auto help = bend::testing::run_command(mlp + " --help");
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("usage: mnist_mlp") && Catch::Contains("--epochs"));

  const auto trained = bend::testing::run_command(mlp + " --data-dir " + mnist.string() +
                                                  " --epochs 1 --train-limit 256 --save " +
                                                  (dir / "mlp.safetensors").string());
  INFO(trained.out);
  REQUIRE(trained.code == 0);
  CHECK_THAT(trained.out, Catch::Contains("epoch 1:") && Catch::Contains("model saved to"));
  const auto tensors = bend::nn::load_tensors(dir / "mlp.safetensors");
  CHECK(tensors.size() == 6);  // 0.weight, 0.bias, 2.*, 4.*: the Sequential's names

  // The old positional form is a clear error, not a dataset named "--epochs".
  const auto positional = bend::testing::run_command(mlp + " " + mnist.string() + " 1");
  CHECK(positional.code == 1);
  CHECK_THAT(positional.out, Catch::Contains("unexpected argument"));
  const auto unknown = bend::testing::run_command(mlp + " --epoch 1");
  CHECK(unknown.code == 1);
  CHECK_THAT(unknown.out, Catch::Contains("unknown flag --epoch"));
  fs::remove_all(dir);
}
#endif
}  // namespace BEND_UNITY_ID
