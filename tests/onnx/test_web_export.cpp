// bend export MODEL --web DIR: the page's files and model.json; what it cannot do is one line, before any
// file is written. The page itself runs in headless Chromium in the ctest web_digit_page (tests/web).
#if BEND_HAVE_ONNX
#include "build_paths.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "bend/nn/model_presets.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/rng.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using bend::testing::CommandResult;
using bend::testing::run_command;
using bend::testing::ScratchDir;
using Catch::Contains;

namespace {

// `environment`: VAR=value words put before the command.
CommandResult bend_cli(const std::string& args, const std::string& environment = "") {
  return run_command(environment + " " + std::string(BEND_CLI_PATH) + " " + args);
}

std::int64_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// An untrained model of `arch` saved into `dir`.
fs::path saved_model(const fs::path& dir, const std::string& arch) {
  const bend::nn::ModelSpec spec = bend::nn::ModelSpec::parse(arch, "relu");
  bend::Rng rng(1);
  const bend::nn::Sequential model = bend::nn::build_model(spec, bend::nn::init::Scheme::Auto, rng);
  const fs::path file = dir / "model.safetensors";
  bend::nn::save_model(file, model, spec);
  return file;
}

bool runtime_installed() {
  return fs::is_regular_file(fs::path(BEND_SOURCE_DIR) /
                             "tools/web/node_modules/onnxruntime-web/package.json");
}

}  // namespace

TEST_CASE("bend export --web: the page, model.json and the model", "[onnx][web]") {
  if (!bend::testing::require_available(runtime_installed(), "onnxruntime-web (tools/web/node_modules)",
                                        "bash scripts/install-deps.sh --test"))
    return;
  ScratchDir dir("bend_test_web_export");
  const fs::path model = saved_model(dir.path(), "1x28x28-c4k5-p2-10");
  const fs::path page = dir.path() / "page";
  const CommandResult r = bend_cli("export " + model.string() + " --web " + page.string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  for (const char* file : {"index.html", "draw.js", "preprocess.js", "style.css", "model.json", "model.onnx",
                           "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"}) {
    INFO(file);
    CHECK(fs::file_size(page / file) > 0);
  }
  std::ifstream in(page / "model.json");
  const nlohmann::json info = nlohmann::json::parse(in);
  CHECK(info["model"] == "model.onnx");
  CHECK(info["input"] == nlohmann::json::array({1, 28, 28}));
  CHECK(info["output"] == "probabilities");
  CHECK(info["classes"].size() == 10);
  CHECK(info["classes"][9] == "9");
  CHECK(info["standardized_in_model"].is_null());
  CHECK_THAT(info["description"].get<std::string>(), Contains("1x28x28-c4k5-p2-10"));
}

TEST_CASE("bend export --web: a model that does not take one 28x28 image, or no onnxruntime-web, is one line",
          "[onnx][web]") {
  ScratchDir dir("bend_test_web_export_errors");
  const fs::path page = dir.path() / "page";
  SECTION("a model of 6 inputs") {
    const fs::path model = saved_model(dir.path(), "6-5-3");
    const CommandResult r = bend_cli("export " + model.string() + " --web " + page.string());
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(lines(r.out) == 1);
    CHECK_THAT(r.out, Contains("28x28") && Contains("takes 6"));
  }
  SECTION("onnxruntime-web not where it is looked for") {
    const fs::path model = saved_model(dir.path(), "784-10");
    const CommandResult r = bend_cli("export " + model.string() + " --web " + page.string(),
                                     "BEND_ONNXRUNTIME_WEB=" + (dir.path() / "nothing").string());
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(lines(r.out) == 1);
    CHECK_THAT(r.out, Contains("onnxruntime-web") && Contains("npm ci --ignore-scripts"));
  }
  SECTION("no output") {
    const fs::path model = saved_model(dir.path(), "784-10");
    const CommandResult r = bend_cli("export " + model.string());
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Contains("--web DIR"));
  }
  CHECK_FALSE(fs::exists(page));  // nothing written
}

}  // namespace BEND_UNITY_ID
#endif
