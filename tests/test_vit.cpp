// The vision transformer of `--model vit`: its spec (layer-table tokens with module names), its state-dict
// names (a torch ViT's: patch_embed, cls_token, pos_embed, blocks.N, norm, head), PyTorch loading a bend
// ViT file strictly and giving the same logits (scripts/torch_load_model.py, generic, and
// scripts/torch_vit.py, a ViT written from standard torch.nn parts), and the bad-input messages.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/multihead_attention.hpp"
#include "bend/nn/position_embedding.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/nn/transformer_encoder_layer.hpp"
#include "bend/ops.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

namespace fs = std::filesystem;
using bend::Tensor;
using bend::nn::ModelSpec;
using bend::nn::SampleShape;

const SampleShape kMnist{1, 28, 28};

std::string vit_arch() { return bend::nn::find_model_preset("vit")->arch(kMnist, 10); }

std::string parse_error(std::string_view arch, std::string_view acts = "gelu") {
  try {
    ModelSpec::parse(arch, acts, "none", 0.0f, &kMnist);
  } catch (const bend::ValueError& e) {
    return e.what();
  }
  return "no error";
}

// The rows of the torch scripts: row r, value j = ((7 r + 13 j) % 17) / 16.
Tensor script_rows(std::int64_t rows, std::int64_t features) {
  Tensor x = Tensor::zeros({rows, features});
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < features; ++j)
      x.data()[r * features + j] = static_cast<float>((7 * r + 13 * j) % 17) / 16.0f;
  return x;
}

std::vector<double> numbers_after(const std::string& text, const std::string& key) {
  std::vector<double> values;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(key)) continue;
    for (const char* p = line.c_str() + key.size(); *p;) {
      if (*p == '[' || *p == ']' || *p == ',' || *p == ' ') {
        ++p;
        continue;
      }
      char* next = nullptr;
      values.push_back(std::strtod(p, &next));
      p = next;
    }
  }
  return values;
}

bool have_torch() {
  return bend::testing::require_available(
      std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0, "PyTorch for /usr/bin/python3",
      "apt-get install python3-torch (scripts/install-deps.sh does)");
}

}  // namespace

TEST_CASE("vit: the preset is layer-table tokens with a torch ViT's module names", "[vit]") {
  CHECK(vit_arch() == "1x28x28-patch7d64:patch_embed-cls-pos-tf4h4f128:blocks-tok0-ln:norm-10:head");
  CHECK(bend::nn::find_model_preset("vit")->default_act == "gelu");
  const ModelSpec spec = ModelSpec::parse(vit_arch(), "gelu");
  CHECK(spec.arch_string() == vit_arch());
  CHECK(spec.activations == std::vector<std::string>{"gelu"});
  const ModelSpec again = ModelSpec::parse(spec.arch_string(), spec.act_string());
  CHECK(again.layers == spec.layers);
  const auto shapes = spec.infer_shapes();
  REQUIRE(shapes.size() == 7);
  CHECK(shapes[0].output == SampleShape{16, 64});
  CHECK(shapes[1].output == SampleShape{17, 64});
  CHECK(shapes[4].output == SampleShape{64});
  CHECK(shapes.back().output == SampleShape{10});

  bend::Rng rng(1);
  bend::nn::Sequential net = bend::nn::build_model(spec, bend::nn::init::Scheme::Torch, rng);
  std::map<std::string, bend::Shape> names;
  std::int64_t inferred = 0, built = 0;
  for (const auto& s : shapes) inferred += s.parameters;
  for (const auto& [name, t] : net.state_dict()) {
    names[name] = t.shape();
    built += t.numel();
  }
  CHECK(built == inferred);
  CHECK(names.at("patch_embed.weight") == bend::Shape{64, 1, 7, 7});
  CHECK(names.at("patch_embed.bias") == bend::Shape{64});
  CHECK(names.at("cls_token") == bend::Shape{1, 1, 64});
  CHECK(names.at("pos_embed") == bend::Shape{1, 17, 64});
  CHECK(names.at("blocks.3.self_attn.in_proj_weight") == bend::Shape{192, 64});
  CHECK(names.at("blocks.0.linear1.weight") == bend::Shape{128, 64});
  CHECK(names.at("blocks.2.norm2.bias") == bend::Shape{64});
  CHECK(names.at("norm.weight") == bend::Shape{64});
  CHECK(names.at("head.weight") == bend::Shape{10, 64});
  CHECK(names.size() == 4 + 4 * 12 + 2 + 2);

  // Flat MNIST rows go in as images; the logits are [N, classes]; gradients reach every parameter.
  const Tensor y = net.forward(script_rows(3, 784));
  CHECK(y.shape() == bend::Shape{3, 10});
  bend::sum(y * y).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }

  // --act swiglu: the gated feed-forward, linear1 to 2·ff.
  const ModelSpec gated = ModelSpec::parse(vit_arch(), "swiglu");
  bend::nn::Sequential gated_net = bend::nn::build_model(gated, bend::nn::init::Scheme::Torch, rng);
  for (const auto& [name, t] : gated_net.state_dict())
    if (name == "blocks.1.linear1.weight") CHECK(t.shape() == bend::Shape{256, 64});
}

TEST_CASE("vit: PyTorch loads a bend ViT file strictly and gives the same logits", "[vit][torch]") {
  if (!have_torch()) return;
  const fs::path dir = fs::temp_directory_path() / "bend_test_vit_torch";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A smaller ViT (2 blocks, d 32) keeps the test fast; the preset's names and kinds are the same.
  const std::string arch = "1x28x28-patch7d32:patch_embed-cls-pos-tf2h4f48:blocks-tok0-ln:norm-10:head";
  std::vector<std::string> files;
  std::vector<Tensor> logits;
  const std::vector<std::string> acts = {"gelu", "relu", "silu", "swiglu"};
  for (const std::string& act : acts) {
    const ModelSpec spec = ModelSpec::parse(arch, act);
    bend::Rng rng(7);
    bend::nn::Sequential net = bend::nn::build_model(spec, bend::nn::init::Scheme::Torch, rng);
    // Off their initial values, so a misplaced tensor shows.
    for (auto& [name, p] : net.named_parameters())
      for (std::int64_t i = 0; i < p.numel(); ++i)
        p.data()[i] += 0.05f * static_cast<float>((i * 7 + static_cast<std::int64_t>(name.size())) % 11 - 5);
    const fs::path file = dir / fmt::format("vit_{}.safetensors", act);
    bend::nn::save_tensors(file, net.state_dict(), spec.to_metadata());
    files.push_back(file.string());
    net.eval();
    bend::NoGradGuard no_grad;
    logits.push_back(net.forward(script_rows(3, 784)));
  }
  const auto compare = [&](const std::string& output, std::size_t k) {
    const std::vector<double> torch = numbers_after(output, "outputs: ");
    REQUIRE(torch.size() == 30);
    for (std::int64_t i = 0; i < 30; ++i)
      CHECK(logits[k].data()[i] == Approx(torch[static_cast<std::size_t>(i)]).margin(2e-4).epsilon(1e-3));
  };
  // The generic loader, from the file's bend.layers alone.
  for (std::size_t k = 0; k < files.size(); ++k) {
    INFO(acts[k]);
    const auto result = bend::testing::run_command("/usr/bin/python3 " + std::string(BEND_SOURCE_DIR) +
                                                   "/scripts/torch_load_model.py " + files[k] + " --rows 3");
    INFO(result.out);
    REQUIRE(result.code == 0);
    compare(result.out, k);
  }
  // A ViT written by hand from standard torch.nn parts (nn.Conv2d, nn.Parameter, nn.TransformerEncoderLayer,
  // nn.LayerNorm, nn.Linear), strict load.
  for (std::size_t k = 0; k < 3; ++k) {
    INFO(acts[k]);
    const auto result = bend::testing::run_command("/usr/bin/python3 " + std::string(BEND_SOURCE_DIR) +
                                                   "/scripts/torch_vit.py " + files[k] +
                                                   " --heads 4 --activation " + acts[k] + " --rows 3");
    INFO(result.out);
    REQUIRE(result.code == 0);
    compare(result.out, k);
  }
  fs::remove_all(dir);
}

TEST_CASE("vit: bad input gets one line naming the layer and the shapes", "[vit]") {
  // embed_dim not divisible by num_heads.
  const std::string heads = parse_error("1x28x28-patch7d64-cls-pos-tf2h5f128-tok0-10");
  CHECK_THAT(heads, Catch::Contains("tf2h5f128") && Catch::Contains("17x64") &&
                        Catch::Contains("embed_dim 64") && Catch::Contains("num_heads 5"));
  CHECK_THROWS_WITH(bend::nn::MultiheadAttention(64, 5), Catch::Contains("64") && Catch::Contains("5"));
  // A patch that does not divide the image.
  const std::string patch = parse_error("1x28x28-patch5d64-cls-pos-tf2h4f128-tok0-10");
  CHECK_THAT(patch, Catch::Contains("patch5d64") && Catch::Contains("1x28x28") && Catch::Contains("5x5"));
  // A sequence longer than the position table.
  bend::Rng rng(2);
  bend::nn::PositionEmbedding pos(17, 8, rng);
  CHECK_THROWS_WITH(pos.forward(Tensor::zeros({2, 20, 8})),
                    Catch::Contains("PositionEmbedding(17, 8)") && Catch::Contains("[2, 20, 8]") &&
                        Catch::Contains("20 tokens") && Catch::Contains("17 positions"));
  // A mask of the wrong shape, through a transformer block.
  bend::nn::TransformerEncoderLayer layer(8, 2, 16, 0.0f);
  bend::nn::EncoderMasks masks;
  masks.src_mask.mask = Tensor::zeros({3, 4});
  try {
    layer.forward(Tensor::zeros({2, 5, 8}), masks);
    FAIL("no error for a [3, 4] mask on 5 tokens");
  } catch (const bend::Error& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK_THAT(what, Catch::Contains("[3, 4]") && Catch::Contains("5"));
  }
  // Layers in the wrong place, and names.
  CHECK_THAT(parse_error("1x28x28-cls-10"), Catch::Contains("token sequence") && Catch::Contains("1x28x28"));
  CHECK_THAT(parse_error("1x28x28-patch7d64-tf1h4f8-10"), Catch::Contains("flat input"));
  CHECK_THAT(parse_error("1x28x28-patch7d64:a-cls-tf1h4f8:a-tok0-10"),
             Catch::Contains("two layers are named 'a'"));
  CHECK_THAT(parse_error("1x28x28-patch7d64-cls:c-tok0-10"), Catch::Contains("takes no name"));
  CHECK_THAT(parse_error("1x28x28-patch7d64-tf1h4f8-tok0-10", "none"), Catch::Contains("feed-forward"));
}

}  // namespace BEND_UNITY_ID
