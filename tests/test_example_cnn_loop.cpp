// apps/mnist_cnn_loop.cpp, the libtorch MNIST example's CNN trained by a loop of the user's own (no
// Trainer), run as a user runs it: one epoch of the first 40000 training images, in batches of 16 (the
// example's 64 reach about 94% after a whole epoch of 60000, as libtorch's own does), reaches >= 95% on
// the 10000 test images (96.4% measured). One thread: ctest runs tests side by side, and bend's
// spinning workers lose badly on a busy machine (45 s measured at a load of 18 on 2 cores).
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_MNIST_CNN_LOOP_PATH
TEST_CASE("mnist_cnn_loop: the libtorch example's loop trains one epoch to >= 95% test accuracy",
          "[examples][mnist]") {
  namespace fs = std::filesystem;
  const fs::path mnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(
          fs::exists(mnist / "train-images-idx3-ubyte") && fs::exists(mnist / "t10k-images-idx3-ubyte"),
          "MNIST (data/mnist)", "run data/fetch-mnist.sh"))
    return;
  const bend::testing::CommandResult run = bend::testing::run_command(
      "BEND_NUM_THREADS=1 " + std::string(BEND_MNIST_CNN_LOOP_PATH) +
      " --epochs 1 --batch-size 16 --train-limit 40000 --seed 1 --data-dir " + mnist.string());
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out,
             Catch::Contains("Train Epoch: 1 [40000/40000]") && Catch::Contains("Test set: Average loss"));
  const auto at = run.out.find("test accuracy ");
  REQUIRE(at != std::string::npos);
  const double accuracy = std::stod(run.out.substr(at + 14));
  CHECK(accuracy >= 95.0);
}
#endif

}  // namespace BEND_UNITY_ID
