// bend export --onnx of a GPT (--model gpt): the graph passes onnx.checker, and its logits in ONNX Runtime
// (onnxruntime-node) on windows of token ids, two batch sizes by two lengths (one the block size), equal
// bend's GPT::forward within 1e-4 with the same argmax; gelu, swiglu, silu and prelu, bias on and off, the
// adaptive head (log-probabilities), and a GPT trained and exported through the CLI.
#if BEND_HAVE_ONNX
#include "build_paths.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/onnx/onnx.hpp"
#include "bend/rng.hpp"
#include "bend/train/gpt_source.hpp"
#include "gpt_support.hpp"
#include "onnx_support.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

namespace BEND_UNITY_ID {

using namespace bend::testing::onnx_support;  // with fs and ScratchDir

namespace {

struct GptCase {
  std::string label;
  bend::nn::GPTConfig config;
};

bend::nn::GPTConfig tiny_gpt(const std::string& act, bool bias) {
  bend::nn::GPTConfig c = bend::testing::tiny_gpt_config(2, 12, 23);
  c.bias = bias;
  c.activation = act;
  return c;
}

// `count` distinct characters, sorted: a character vocabulary as bend.vocab holds it.
std::string vocabulary(std::int64_t count) {
  std::string out;
  for (std::int64_t i = 0; i < count; ++i) out += static_cast<char>('A' + i);
  return out;
}

// A GPT of `config` from a fixed seed, its weights spread wider than nanoGPT's N(0, 0.02) (which leaves the
// attention nearly uniform and every logit near 0) so that the mask, the heads and the activation show;
// saved with the metadata bend train --model gpt writes.
std::unique_ptr<bend::nn::GPT> saved_gpt(const bend::nn::GPTConfig& config, std::uint64_t seed,
                                         const fs::path& file) {
  bend::Rng rng(seed);
  auto model = std::make_unique<bend::nn::GPT>(config, rng);
  for (auto& [name, t] : model->named_parameters()) {
    const bool norm = name.find(".ln_") != std::string::npos || name.find("ln_f") != std::string::npos;
    bend::Tensor spread = bend::Tensor::normal(t.shape(), 0.0f, norm ? 0.2f : 0.3f, rng);
    if (norm && name.ends_with("weight"))
      for (float& v : spread.span()) v += 1.0f;
    t.copy_from(spread);
  }
  const bend::train::ModelSource source = bend::train::gpt_source(config, vocabulary(config.vocab_size));
  bend::nn::save_tensors(file, model->state_dict(), source.metadata);
  model->eval();
  return model;
}

struct Window {
  std::int64_t batch, time;
};

// Each (batch, time) window of token ids drawn at `seed`, run by bend and by ONNX Runtime: the largest
// |difference| of the logits and the positions whose argmax differ.
Agreement compare_windows(bend::nn::GPT& model, const fs::path& onnx, const std::vector<Window>& windows,
                          std::uint64_t seed, const fs::path& dir) {
  const std::int64_t vocab = model.config().vocab_size;
  bend::Rng rng(seed);
  nlohmann::json jobs = nlohmann::json::array();
  std::vector<std::vector<float>> expected;
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const auto [batch, time] = windows[w];
    std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * time));
    bend::Tensor idx = bend::Tensor::empty(bend::Shape{batch, time});
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ids[i] = static_cast<std::int64_t>(rng.next_u64() % static_cast<std::uint64_t>(vocab));
      idx.data()[i] = static_cast<float>(ids[i]);
    }
    const fs::path input = dir / fmt::format("ids{}.i64", w), output = dir / fmt::format("logits{}.f32", w);
    std::ofstream(input, std::ios::binary)
        .write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 8));
    jobs.push_back({{"model", onnx.string()},
                    {"input", input.string()},
                    {"type", "int64"},
                    {"dims", {batch, time}},
                    {"output_name", "logits"},
                    {"output", output.string()}});
    bend::NoGradGuard no_grad;
    expected.push_back(model.forward(idx).to_vector());
  }
  std::ofstream(dir / "jobs.json") << jobs.dump();
  const bend::testing::CommandResult r = bend::testing::run_command(
      "node '" + (onnx_tools() / "run.js").string() + "' '" + (dir / "jobs.json").string() + "'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  Agreement all;
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const Agreement a =
        compare_probabilities(read_floats(dir / fmt::format("logits{}.f32", w)), expected[w], vocab);
    all.max_difference = std::max(all.max_difference, a.max_difference);
    all.label_mismatches += a.label_mismatches;
  }
  return all;
}

void check_cases(const std::vector<GptCase>& cases, const char* label) {
  ScratchDir dir(label);
  std::vector<fs::path> files;
  std::vector<std::unique_ptr<bend::nn::GPT>> models;
  std::uint64_t seed = 3;
  for (const GptCase& c : cases) {
    const fs::path file = dir.path() / (c.label + ".safetensors"), onnx = dir.path() / (c.label + ".onnx");
    models.push_back(saved_gpt(c.config, seed++, file));
    bend::onnx::export_file(file, onnx);
    files.push_back(onnx);
  }
  const bend::testing::CommandResult checked = check_with_onnx_checker(files);
  INFO(checked.out);
  REQUIRE(checked.code == 0);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].label);
    const std::int64_t block = cases[i].config.block_size;
    const Agreement a =
        compare_windows(*models[i], files[i], {{1, block}, {3, block}, {1, 5}, {3, 5}}, 100 + i, dir.path());
    CHECK(a.max_difference <= 1e-4);
    CHECK(a.label_mismatches == 0);
  }
}

}  // namespace

TEST_CASE("ONNX export: the GPT with gelu, swiglu, silu and prelu, bias on and off, runs as in bend (1e-4)",
          "[onnx][export][gpt]") {
  if (!require_python_onnx() || !require_onnxruntime()) return;
  check_cases({{"gelu-bias", tiny_gpt("gelu", true)},
               {"swiglu-nobias", tiny_gpt("swiglu", false)},
               {"silu-nobias", tiny_gpt("silu", false)},
               {"prelu-bias", tiny_gpt("prelu", true)}},
              "bend_onnx_gpt");
}

TEST_CASE("ONNX export: the GPT's adaptive head gives bend's log-probabilities (1e-4)",
          "[onnx][export][gpt]") {
  if (!require_python_onnx() || !require_onnxruntime()) return;
  bend::nn::GPTConfig c = tiny_gpt("gelu", true);
  c.head = "adaptive";
  c.cutoffs = {8, 16};
  c.div_value = 2.0;
  check_cases({{"adaptive", c}}, "bend_onnx_gpt_adaptive");
}

TEST_CASE("ONNX export: the GPT file's tensors are checked against its config", "[onnx][export][gpt]") {
  const bend::nn::GPTConfig c = tiny_gpt("gelu", true);
  bend::Rng rng(1);
  const bend::nn::GPT model(c, rng);
  bend::nn::GPTConfig wider = c;
  wider.block_size = 20;
  CHECK_THROWS_WITH(bend::onnx::export_gpt(wider, model.state_dict(), {}),
                    Catch::Contains("transformer.wpe.weight") && Catch::Contains("[20, 16]"));
  bend::nn::NamedTensors missing = model.state_dict();
  std::erase_if(missing, [](const auto& entry) { return entry.first == "transformer.h.1.mlp.c_fc.weight"; });
  CHECK_THROWS_WITH(bend::onnx::export_gpt(c, missing, {}),
                    Catch::Contains("transformer.h.1.mlp.c_fc.weight"));
}

#ifdef BEND_CLI_PATH
TEST_CASE("bend export --onnx: a GPT trained by bend train --model gpt", "[onnx][export][gpt][cli]") {
  if (!require_python_onnx() || !require_onnxruntime()) return;
  ScratchDir dir("bend_onnx_gpt_cli");
  std::string text;
  const char* words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat ", "dog ", "ran\n"};
  bend::Rng rng(5);
  for (int i = 0; i < 2000; ++i) text += words[rng.next_u64() % 8];
  std::ofstream(dir.path() / "text.txt") << text;
  const fs::path model_file = dir.path() / "gpt.safetensors", onnx = dir.path() / "gpt.onnx";
  const std::string cli = std::string(BEND_CLI_PATH);
  const bend::testing::CommandResult trained = bend::testing::run_command(
      cli + " train --model gpt --text '" + (dir.path() / "text.txt").string() +
      "' --n-layer 2 --n-head 2 --n-embd 32 --block-size 16 --act swiglu --bias --steps 20 --warmup-iters 5 "
      "--eval-interval 20 --eval-iters 2 --batch 8 --save '" +
      model_file.string() + "'");
  INFO(trained.out);
  REQUIRE(trained.code == 0);
  const bend::testing::CommandResult exported = bend::testing::run_command(
      cli + " export '" + model_file.string() + "' --onnx '" + onnx.string() + "'");
  INFO(exported.out);
  REQUIRE(exported.code == 0);
  CHECK_THAT(exported.out, Catch::Contains("ONNX opset 17"));
  const bend::testing::CommandResult checked = check_with_onnx_checker({onnx});
  INFO(checked.out);
  REQUIRE(checked.code == 0);

  bend::nn::Metadata metadata;
  const bend::nn::NamedTensors tensors = bend::nn::load_tensors(model_file, &metadata);
  const bend::nn::GPTConfig config = bend::train::gpt_config_from(metadata, model_file);
  bend::Rng init(0);
  bend::nn::GPT model(config, init);
  model.load_state_dict(tensors);
  model.eval();
  const Agreement a = compare_windows(model, onnx, {{2, config.block_size}, {1, 7}}, 9, dir.path());
  CHECK(a.max_difference <= 1e-4);
  CHECK(a.label_mismatches == 0);
}
#endif

}  // namespace BEND_UNITY_ID
#endif
