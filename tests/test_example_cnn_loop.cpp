// apps/mnist_cnn_loop.cpp, the libtorch MNIST example's CNN trained by a loop of the user's own (no
// Trainer), run as a user runs it: one epoch of the 60000 training images, in batches of 16 (the
// example's 64 reach about 94% in one epoch, as libtorch's own), reaches >= 95% on the test set
// (96.8% measured, about 24 s on the 2-core machine).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "requirements.hpp"
#include "run_command.hpp"

#ifdef BEND_MNIST_CNN_LOOP_PATH
TEST_CASE("mnist_cnn_loop: the libtorch example's loop trains one epoch to >= 95% test accuracy",
          "[examples][mnist]") {
  namespace fs = std::filesystem;
  const fs::path mnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(
          fs::exists(mnist / "train-images-idx3-ubyte") && fs::exists(mnist / "t10k-images-idx3-ubyte"),
          "MNIST (data/mnist)", "run data/fetch-mnist.sh"))
    return;
  const bend::testing::CommandResult run =
      bend::testing::run_command(std::string(BEND_MNIST_CNN_LOOP_PATH) +
                                 " --epochs 1 --batch-size 16 --seed 1 --data-dir " + mnist.string());
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out,
             Catch::Contains("Train Epoch: 1 [60000/60000]") && Catch::Contains("Test set: Average loss"));
  const auto at = run.out.find("test accuracy ");
  REQUIRE(at != std::string::npos);
  const double accuracy = std::stod(run.out.substr(at + 14));
  CHECK(accuracy >= 95.0);
}
#endif
