// Model specs: the --arch grammar (parse and print), shape inference and its errors, presets, the builder
// (an MLP is a dense-only spec), and saving and loading any spec, files from before model specs too.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <filesystem>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/batch_norm.hpp"
#include "bend/nn/conv2d.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

using bend::nn::ModelSpec;
using bend::nn::SampleShape;

const SampleShape kMnist{1, 28, 28};

std::vector<std::string> kinds(const ModelSpec& spec) {
  std::vector<std::string> out;
  for (const auto& l : spec.layers) out.push_back(l.kind);
  return out;
}

std::string error_of(std::string_view arch, std::string_view acts = "relu", std::string_view norm = "none",
                     float dropout = 0.0f) {
  try {
    ModelSpec::parse(arch, acts, norm, dropout, &kMnist);
  } catch (const bend::ValueError& e) {
    return e.what();
  }
  return "no error";
}

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) : path(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("model spec: the grammar parses and prints back to the same spec", "[model_spec]") {
  for (const char* arch : {"1x28x28-c6k5p2-p2-c16k5-p2-120-84-10", "784-256-128-10",
                           "1x28x28-c8k3s2p1d2-ap2-bn-ln-f-drop0.25-10",
                           "3x32x32-c4k3-drop2d0.5-mp3s2-ap2s1-10", "28x28-c2k5-10", "5-10"}) {
    INFO(arch);
    const ModelSpec spec = ModelSpec::parse(arch, "relu");
    const ModelSpec again = ModelSpec::parse(spec.arch_string(), spec.act_string(), spec.norm, spec.dropout);
    CHECK(again.arch_string() == spec.arch_string());
    CHECK(again.layers == spec.layers);
    CHECK(again.input == spec.input);
  }
  // Canonical forms: defaults dropped, "mp" and "28x28" spelled the short way.
  CHECK(ModelSpec::parse("28x28-c6k5s1p0d1-mp2s2p0d1-10", "relu").arch_string() == "1x28x28-c6k5-p2-10");
  // Pools: padding, dilation (max) and ceil_mode, as PyTorch's (8 rows, kernel 3 dilated 2, stride 2,
  // padding 1: 3 windows in floor mode, 4 in ceil mode).
  const ModelSpec ceil = ModelSpec::parse("1x8x8-p3s2p1d2c-ap2c-10", "relu");
  CHECK(ceil.arch_string() == "1x8x8-p3s2p1d2c-ap2c-10");
  CHECK(ceil.infer_shapes()[0].output == SampleShape{1, 4, 4});
  CHECK(ceil.infer_shapes()[1].output == SampleShape{1, 2, 2});
  CHECK(ModelSpec::parse("1x8x8-p3s2p1d2-10", "relu").infer_shapes()[0].output == SampleShape{1, 3, 3});
  CHECK_THROWS_WITH(ModelSpec::parse("1x8x8-p2p2-10", "relu"), Catch::Contains("more than half its kernel"));
  CHECK_THROWS_WITH(ModelSpec::parse("1x8x8-ap2d2-10", "relu"), Catch::Contains("unexpected 'd2'"));
  CHECK_THROWS_WITH(ModelSpec::parse("1x8x8-p2c1-10", "relu"), Catch::Contains("'c' takes no number"));
  // Without an input token the dataset's shape is the input, and the printed spec carries it.
  CHECK(ModelSpec::parse("c6k5-p2-10", "relu", "none", 0.0f, &kMnist).arch_string() == "1x28x28-c6k5-p2-10");
}

TEST_CASE("model spec: activations, norms, dropout and flatten go where the docs say", "[model_spec]") {
  const ModelSpec lenet = ModelSpec::parse("c6k5p2-p2-c16k5-p2-120-84-10", "relu", "none", 0.0f, &kMnist);
  CHECK(kinds(lenet) == std::vector<std::string>{"conv", "act", "maxpool", "conv", "act", "maxpool",
                                                 "flatten", "dense", "act", "dense", "act", "dense"});
  CHECK(lenet.hidden_layers() == 4);

  const ModelSpec normed = ModelSpec::parse("c4k3-p2-32-10", "gelu,tanh", "batch", 0.5f, &kMnist);
  CHECK(kinds(normed) == std::vector<std::string>{"conv", "batchnorm", "act", "maxpool", "flatten", "dense",
                                                  "batchnorm", "act", "dropout", "dense"});
  CHECK(normed.layers[2].text("name") == "gelu");
  CHECK(normed.layers[7].text("name") == "tanh");
  CHECK(ModelSpec::parse("784-64-10", "relu", "layer").layers[1].kind == "layernorm");

  // The MLP spec means what it meant: a flat input, Linear -> activation (-> Dropout) per hidden layer.
  const ModelSpec mlp = ModelSpec::parse("784-256-128-10", "relu", "none", 0.2f);
  CHECK(mlp.input == SampleShape{784});
  CHECK(kinds(mlp) ==
        std::vector<std::string>{"dense", "act", "dropout", "dense", "act", "dropout", "dense"});
  CHECK(kinds(ModelSpec::parse("784-64-10", "swiglu")) == std::vector<std::string>{"swiglu", "dense"});
}

TEST_CASE("model spec: shape inference gives each layer's output and parameters (LeNet-5)", "[model_spec]") {
  const bend::nn::ModelPreset* preset = bend::nn::find_model_preset("lenet5");
  REQUIRE(preset != nullptr);
  const ModelSpec spec = ModelSpec::parse(preset->arch(kMnist, 10), "relu");
  CHECK(spec.arch_string() == "1x28x28-c6k5p2-p2-c16k5-p2-120-84-10");
  const auto shapes = spec.infer_shapes();
  REQUIRE(shapes.size() == 12);
  const std::vector<SampleShape> expected = {{6, 28, 28},  {6, 28, 28}, {6, 14, 14}, {16, 10, 10},
                                             {16, 10, 10}, {16, 5, 5},  {400},       {120},
                                             {120},        {84},        {84},        {10}};
  // Conv: 6·1·5·5 + 6; 16·6·5·5 + 16; dense: 400·120 + 120, 120·84 + 84, 84·10 + 10.
  const std::vector<std::int64_t> params = {156, 0, 0, 2416, 0, 0, 0, 48120, 0, 10164, 0, 850};
  std::int64_t total = 0;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    INFO(i);
    CHECK(shapes[i].output == expected[i]);
    CHECK(shapes[i].parameters == params[i]);
    total += shapes[i].parameters;
  }
  CHECK(total == 61706);
  // Stride, padding and dilation: (28 + 2·1 - 2·(3 - 1) - 1) / 2 + 1 = 13; batch norm 2·C parameters.
  const auto strided = ModelSpec::parse("1x28x28-c8k3s2p1d2-bn-10", "relu").infer_shapes();
  CHECK(strided[0].output == SampleShape{8, 13, 13});
  CHECK(strided[2].parameters == 16);
  CHECK(strided[2].buffers == 17);
  CHECK(ModelSpec::parse("1x28x28-ap3s2-10", "relu").infer_shapes()[0].output == SampleShape{1, 13, 13});
  CHECK(ModelSpec::parse("784-ln-10", "relu").infer_shapes()[0].parameters == 2 * 784);
}

TEST_CASE("model spec: a spec that does not fit says which layer and which shapes", "[model_spec]") {
  using Catch::Contains;
  // A kernel larger than the image.
  CHECK_THAT(error_of("c6k5-p2-c16k30-10"), Contains("layer 3 ('c16k30', input 6x12x12)") &&
                                                Contains("kernel 30") &&
                                                Contains("larger than its 6x12x12 input"));
  // A pool that would leave 0x0.
  CHECK_THAT(error_of("c6k5s4-p8-10"), Contains("layer 2 ('p8', input 6x6x6)") && Contains("pool window 8"));
  // A conv or pool on a flat input (after a flatten or a dense layer, or a flat spec).
  CHECK_THAT(error_of("784-c6k5-10"), Contains("'c6k5', input 784") && Contains("needs an image input"));
  CHECK_THAT(error_of("c6k5-120-p2-10"), Contains("layer 5 ('p2', input 120)"));
  CHECK_THAT(error_of("1x28x28-f-c6k5-10"), Contains("needs an image input"));
  CHECK_THAT(error_of("784-drop2d0.5-10"), Contains("needs an image input"));
  // Tokens that do not read.
  CHECK_THAT(error_of("c6-10"), Contains("'c6': needs k<kernel>"));
  CHECK_THAT(error_of("c6k5x2-10"), Contains("unexpected 'x2'"));
  CHECK_THAT(error_of("c6k5k3-10"), Contains("'k' given twice"));
  CHECK_THAT(error_of("q3-10"), Contains("'q3' is not a layer") && Contains("c<out>k<kernel>"));
  CHECK_THAT(error_of("784-x-10"), Contains("'x' is not a layer"));
  CHECK_THAT(error_of("784--10"), Contains("'' is not a layer"));
  CHECK_THAT(error_of("784-0-10"), Contains("'0'"));
  CHECK_THAT(error_of("c6k5-drop1.5-10"), Contains("'drop1.5'") && Contains("[0, 1)"));
  CHECK_THAT(error_of("784"), Contains("needs at least an input and an output size"));
  CHECK_THAT(error_of("c6k5-p2"), Contains("the last layer must be a dense layer"));
  CHECK_THAT(error_of("1x2x3x4-10"), Contains("more than 3 dimensions"));
  // Flags that do not fit the spec.
  CHECK_THAT(error_of("c6k5-120-10", "relu,gelu,tanh"), Contains("3 names for 2 hidden layers"));
  CHECK_THAT(error_of("c6k5-120-10", "relu", "group"), Contains("--norm 'group'"));
  CHECK_THAT(error_of("c6k5-120-10", "swiglu"), Contains("only a dense layer can be a SwiGLU block"));
  CHECK_THAT(error_of("c6k5-120-10", "relu", "none", 1.0f), Contains("--dropout must be in [0, 1)"));
  // No input shape and no dataset to take it from.
  CHECK_THROWS_WITH(ModelSpec::parse("c6k5-10", "relu"), Contains("give the input shape first"));
  // An input that is not the dataset's samples.
  const ModelSpec wide = ModelSpec::parse("1x32x32-c6k5-10", "relu");
  CHECK_THROWS_WITH(
      wide.check_input(kMnist, "mnist"),
      Contains("1x32x32 inputs (1024 values)") && Contains("mnist has 1x28x28 samples (784 values)"));
  CHECK_THROWS_WITH(ModelSpec::parse("100-10", "relu").check_input(kMnist, "mnist"), Contains("100 inputs"));
  CHECK_NOTHROW(ModelSpec::parse("784-10", "relu").check_input(kMnist, "mnist"));
  // Weights or activations beyond this machine's memory: refused before anything is allocated.
  CHECK_THROWS_WITH(
      bend::nn::check_model_fits_in_memory(ModelSpec::parse("1x28x28-c999999k999p500-10", "relu")),
      Contains("layer 0 (1x28x28 -> 999999x30x30) needs") && Contains("for its weights"));
  CHECK_THROWS_WITH(
      bend::nn::check_model_fits_in_memory(ModelSpec::parse("1x28x28-c100000k1p99999-10", "relu")),
      Contains("for one sample's output"));
}

TEST_CASE("model spec: LeNet-5 builds, names its state like nn.Sequential and runs", "[model_spec]") {
  bend::Rng rng(3);
  const ModelSpec spec = ModelSpec::parse(bend::nn::find_model_preset("lenet5")->arch(kMnist, 10), "relu");
  bend::nn::Sequential net = bend::nn::build_model(spec, bend::nn::init::Scheme::Torch, rng);
  CHECK(net.size() == 12);
  CHECK(net.num_parameters() == 61706);
  REQUIRE(net.get_if<bend::nn::Conv2d>(0) != nullptr);
  CHECK(net.get_if<bend::nn::Conv2d>(0)->padding() == bend::Size2d(2));
  std::vector<std::string> names;
  for (const auto& [name, t] : net.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias",
                                          "9.weight", "9.bias", "11.weight", "11.bias"});
  // Flat samples (as the data loader gives them) and images give the same logits.
  bend::Tensor flat = bend::Tensor::zeros({2, 784});
  for (std::int64_t i = 0; i < flat.numel(); ++i) flat.data()[i] = static_cast<float>((i * 7) % 11) / 10.0f;
  bend::NoGradGuard no_grad;
  const bend::Tensor a = net(flat);
  const bend::Tensor b = net(bend::reshape(flat, {2, 1, 28, 28}));
  REQUIRE(a.shape() == bend::Shape({2, 10}));
  for (std::int64_t i = 0; i < a.numel(); ++i) CHECK(a.data()[i] == b.data()[i]);
  CHECK_THAT(net.summary({1, 784}), Catch::Contains("[1, 16, 5, 5]") && Catch::Contains("61,706"));
}

TEST_CASE("model spec: an MLP is a dense-only spec with the MLP metadata keys", "[model_spec]") {
  const ModelSpec mlp = ModelSpec::mlp({784, 32, 16, 10}, "relu,gelu", 0.5f);
  CHECK(mlp.arch_string() == "784-32-16-10");
  CHECK(mlp.act_string() == "relu,gelu");
  std::vector<std::string> kinds;
  for (const auto& layer : mlp.layers) kinds.push_back(layer.kind);
  CHECK(kinds == std::vector<std::string>{"dense", "act", "dropout", "dense", "act", "dropout", "dense"});
  const auto metadata = mlp.to_metadata();
  CHECK(metadata.at("bend.arch") == "784-32-16-10");
  CHECK(metadata.at("bend.act") == "relu,gelu");
  CHECK(metadata.at("bend.dropout") == "0.5");
  // "none": a linear stack (no activation module), initialised as layers followed by nothing.
  const ModelSpec stack = ModelSpec::mlp({6, 5, 4, 3}, "none");
  CHECK(stack.layers.size() == 3);
  bend::Rng rng(3);
  CHECK(bend::nn::build_model(stack, bend::nn::init::Scheme::Torch, rng).describe().find("GELU") ==
        std::string::npos);
}

TEST_CASE("model spec: a CNN with batch norm saves and loads from the file alone", "[model_spec]") {
  TempDir dir("bend_test_model_spec_io");
  const ModelSpec spec = ModelSpec::parse("1x8x8-c4k3-p2-16-5", "relu,tanh", "batch", 0.25f);
  bend::Rng rng(11);
  bend::nn::Sequential net = bend::nn::build_model(spec, bend::nn::init::Scheme::He, rng);
  // Two training-mode passes move the running statistics off their defaults.
  bend::Tensor x = bend::Tensor::zeros({6, 64});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((i * 13) % 17) / 8.0f - 1.0f;
  net(x);
  net(x);
  const auto file = dir.path / "cnn.safetensors";
  bend::nn::save_model(file, net, spec, {{"bend.dataset", "mnist"}});

  bend::nn::LoadedModel loaded = bend::nn::load_model(file);
  CHECK(loaded.spec.arch_string() == spec.arch_string());
  CHECK(loaded.spec.layers == spec.layers);
  CHECK(loaded.metadata.at("bend.norm") == "batch");
  CHECK(loaded.metadata.at("bend.dataset") == "mnist");
  const auto saved = net.state_dict(), got = loaded.model.state_dict();
  REQUIRE(saved.size() == got.size());
  for (std::size_t i = 0; i < saved.size(); ++i) {
    INFO(saved[i].first);
    CHECK(saved[i].first == got[i].first);
    CHECK(std::equal(saved[i].second.span().begin(), saved[i].second.span().end(),
                     got[i].second.span().begin()));
  }
  CHECK(loaded.model.get_if<bend::nn::BatchNorm2d>(1)->num_batches_tracked.item() == 2.0f);
  CHECK(saved[2].first == "1.weight");
  CHECK(saved[4].first == "1.running_mean");
  CHECK(saved[6].first == "1.num_batches_tracked");
  net.eval();
  loaded.model.eval();
  bend::NoGradGuard no_grad;
  const bend::Tensor a = net(x), b = loaded.model(x);
  for (std::int64_t i = 0; i < a.numel(); ++i) CHECK(a.data()[i] == b.data()[i]);

  // A file whose tensors do not fit its spec, or whose metadata does not parse, is refused by name.
  auto metadata = loaded.metadata;
  metadata["bend.arch"] = "1x8x8-c5k3-p2-16-5";
  bend::nn::save_tensors(dir.path / "other.safetensors", net.state_dict(), metadata);
  CHECK_THROWS_WITH(bend::nn::load_model(dir.path / "other.safetensors"),
                    Catch::Contains("other.safetensors: does not fit the architecture 1x8x8-c5k3-p2-16-5"));
  metadata["bend.arch"] = "1x8x8-c4k9-16-5";
  bend::nn::save_tensors(dir.path / "bad.safetensors", net.state_dict(), metadata);
  CHECK_THROWS_WITH(
      bend::nn::load_model(dir.path / "bad.safetensors"),
      Catch::Contains("bad.safetensors: model metadata") && Catch::Contains("larger than its 1x8x8"));
  metadata["bend.arch"] = "1x8x8-c4k3-p2-99999-5";
  bend::nn::save_tensors(dir.path / "big.safetensors", net.state_dict(), metadata);
  CHECK_THROWS_WITH(bend::nn::load_model(dir.path / "big.safetensors"),
                    Catch::Contains("need") && Catch::Contains("values but the file holds"));
  // Without metadata the fallback spec describes the file.
  bend::nn::save_tensors(dir.path / "plain.safetensors", net.state_dict(), {});
  CHECK_THROWS_WITH(bend::nn::load_model(dir.path / "plain.safetensors"),
                    Catch::Contains("no bend architecture metadata"));
  CHECK(bend::nn::load_model(dir.path / "plain.safetensors", spec).spec.arch_string() == spec.arch_string());
}

TEST_CASE("model spec: files written before model specs load as the MLPs they hold", "[model_spec]") {
  // Written by bend's MLP writer before model specs (save_mlp of MlpSpec "6-5-3", gelu, dropout 0.1, seed
  // 5): metadata bend.arch, bend.act and bend.dropout only; no bend.norm, no bend.layers.
  const auto file =
      std::filesystem::path(BEND_SOURCE_DIR) / "tests/fixtures/mlp_6-5-3_gelu_before_model_specs.safetensors";
  bend::nn::LoadedModel loaded = bend::nn::load_model(file);
  CHECK_FALSE(loaded.metadata.contains("bend.layers"));
  CHECK(loaded.spec.arch_string() == "6-5-3");
  CHECK(loaded.spec.act_string() == "gelu");
  CHECK(loaded.spec.dropout == 0.1f);
  CHECK(loaded.spec.norm == "none");
  bend::Rng rng(0);
  CHECK(loaded.model.describe() ==
        bend::nn::build_model(loaded.spec, bend::nn::init::Scheme::Torch, rng).describe());
  // torch.nn.Sequential(Linear(6, 5), GELU(), Dropout(0.1), Linear(5, 3)) with the file's tensors, eval
  // mode, on rows r of ((7 r + 13 j) % 17) / 16 (PyTorch 1.13).
  const float expected[2][3] = {{0.472808837890625f, -0.3021044135093689f, 0.19381222128868103f},
                                {0.41961124539375305f, -0.27720969915390015f, 0.20534497499465942f}};
  bend::Tensor x = bend::Tensor::zeros({2, 6});
  for (std::int64_t r = 0; r < 2; ++r)
    for (std::int64_t j = 0; j < 6; ++j)
      x.data()[r * 6 + j] = static_cast<float>((7 * r + 13 * j) % 17) / 16.0f;
  loaded.model.eval();
  bend::NoGradGuard no_grad;
  const bend::Tensor y = loaded.model(x);
  REQUIRE(y.shape() == bend::Shape({2, 3}));
  for (std::int64_t r = 0; r < 2; ++r)
    for (std::int64_t c = 0; c < 3; ++c) CHECK(y.data()[r * 3 + c] == Approx(expected[r][c]).margin(1e-6));
}

TEST_CASE("model spec: the layer table and the presets are one list each", "[model_spec]") {
  CHECK(bend::nn::layer_kind_for_token("c6k5")->name == "conv");
  CHECK(bend::nn::layer_kind_for_token("p2")->name == "maxpool");
  CHECK(bend::nn::layer_kind_for_token("mp2")->name == "maxpool");
  CHECK(bend::nn::layer_kind_for_token("ap2")->name == "avgpool");
  CHECK(bend::nn::layer_kind_for_token("drop0.5")->name == "dropout");
  CHECK(bend::nn::layer_kind_for_token("drop2d0.5")->name == "dropout2d");
  CHECK(bend::nn::layer_kind_for_token("120")->name == "dense");
  CHECK(bend::nn::layer_kind_for_token("pp2") == nullptr);
  CHECK(bend::nn::layer_kind_for_token("patch7d64")->name == "patch");
  CHECK(bend::nn::layer_kind_for_token("cls")->name == "cls");
  CHECK(bend::nn::layer_kind_for_token("pos")->name == "pos");
  CHECK(bend::nn::layer_kind_for_token("tf4h4f128")->name == "tf");
  CHECK(bend::nn::layer_kind_for_token("tok0")->name == "token");
  CHECK_THAT(bend::nn::layer_grammar_help(),
             Catch::Contains("ap<kernel>[s<stride>][p<padding>][c] AvgPool2d"));
  CHECK(bend::nn::model_preset_names() == "mlp, lenet5, vit");
  CHECK(bend::nn::find_model_preset("mlp")->arch(kMnist, 10) == "784-256-128-10");
  CHECK(bend::nn::find_model_preset("resnet") == nullptr);
}

}  // namespace BEND_UNITY_ID
