// bend predict --batch N: every test image N at a time. The batch size changes nothing in the labels
// (batch 1 and 256 agree, and agree with bend eval's predictions), for an MLP and a CNN with BatchNorm
// in eval mode; the flags of the batch mode are refused without it.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bend/nn/model_spec.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/rng.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {

namespace fs = std::filesystem;
using Run = bend::testing::CommandResult;

Run predict_cli(const std::string& args) {
  return bend::testing::run_command(std::string(BEND_CLI_PATH) + " " + args);
}

const fs::path kPredictMnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";

// The `predicted` column of bend eval --predictions FILE.csv, first `limit` rows.
std::string predicted_column(const fs::path& csv, int limit) {
  std::ifstream in(csv);
  std::string line, labels;
  std::getline(in, line);  // header
  for (int i = 0; i < limit && std::getline(in, line); ++i) {
    std::istringstream fields(line);
    std::string index, label, predicted;
    std::getline(fields, index, ',');
    std::getline(fields, label, ',');
    std::getline(fields, predicted, ',');
    labels += predicted + "\n";
  }
  return labels;
}

}  // namespace

TEST_CASE("predict --batch 1 and --batch 256 give the same labels as eval", "[cli][mnist][predict]") {
  if (!bend::testing::require_available(fs::exists(kPredictMnist / "t10k-labels-idx1-ubyte"),
                                        "MNIST in " + kPredictMnist.string(), "run data/fetch-mnist.sh"))
    return;
  const fs::path dir = fs::temp_directory_path() / "bend_test_cli_predict";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = " --data-dir " + kPredictMnist.string();
  const bend::nn::SampleShape image = {1, 28, 28};
  const int limit = 300;  // not a multiple of 256: the last batch is a short one
  for (const char* arch : {"784-64-10", "c4k5-p2-16-10"}) {
    INFO(arch);
    bend::Rng rng(3);
    const auto spec = bend::nn::ModelSpec::parse(arch, "relu", "batch", 0.0f, &image);
    bend::nn::Sequential model = bend::nn::build_model(spec, bend::nn::init::Scheme::Auto, rng);
    // Running statistics that are not 0/1, so that eval mode (not batch statistics) shows in the labels.
    for (auto& [name, tensor] : model.state_dict())
      if (name.ends_with("running_mean") || name.ends_with("running_var"))
        for (float& v : tensor.span()) v = name.ends_with("running_var") ? 0.5f : 0.1f;
    const std::string file = (dir / "m.safetensors").string();
    bend::nn::save_model(file, model, spec);

    const std::string common = "predict --model " + file + data + " --limit " + std::to_string(limit);
    const Run one = predict_cli(common + " --batch 1 --labels -");
    const Run many = predict_cli(common + " --batch 256 --labels -");
    REQUIRE(one.code == 0);
    REQUIRE(many.code == 0);
    CHECK(std::count(one.out.begin(), one.out.end(), '\n') == limit);
    CHECK(one.out == many.out);
    const Run eval =
        predict_cli("eval --model " + file + data + " --predictions " + (dir / "p.csv").string());
    REQUIRE(eval.code == 0);
    CHECK(many.out == predicted_column(dir / "p.csv", limit));

    const Run summary = predict_cli(common + " --batch 64 --time --repeat 1 --latency-calls 10 --threads 1");
    INFO(summary.out);
    CHECK(summary.code == 0);
    CHECK_THAT(summary.out, Catch::Contains("300 test images, batch 64: accuracy") &&
                                Catch::Contains("images/s") && Catch::Contains("latency median"));
  }
  fs::remove_all(dir);
}

TEST_CASE("predict: the flags of --batch are refused without it, and bad values", "[cli][predict]") {
  CHECK(predict_cli("predict --model x --index 0 --limit 5").code == 2);
  CHECK(predict_cli("predict --model x --index 0 --time").code == 2);
  CHECK(predict_cli("predict --model x --batch 0").code == 2);
  const Run both = predict_cli("predict --model x --batch 8 --index 0");
  CHECK(both.code == 2);
  CHECK_THAT(both.out, Catch::Contains("--batch classifies the whole test set"));
}
#endif

}  // namespace BEND_UNITY_ID
