// The layer table (bend/nn/layer_table.hpp), checked entry by entry over the WHOLE table, so that a new
// entry is tested without a new test: its token reads back to the same layer, its inferred output shape
// and parameter and buffer counts are the built module's, the module passes check_module, and
// scripts/torch_load_model.py builds the same torch.nn module from the entry's class name and arguments
// (strict load_state_dict, same outputs).
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/autograd.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/dropout2d.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/testing/check_module.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

namespace fs = std::filesystem;
using bend::Shape;
using bend::Tensor;
using bend::nn::LayerKind;
using bend::nn::LayerSpec;
using bend::nn::SampleShape;

Shape batch_of(std::int64_t n, const SampleShape& sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), sample.begin(), sample.end());
  return Shape(dims);
}

// Distinct values away from 0 (no ties for max pooling, no kinks): 1.5 sin(0.37 i + 0.1).
Tensor pattern(const Shape& shape, bool requires_grad) {
  Tensor x = Tensor::zeros(shape);
  for (std::int64_t i = 0; i < x.numel(); ++i)
    x.data()[i] = static_cast<float>(1.5 * std::sin(0.37 * static_cast<double>(i) + 0.1));
  if (requires_grad) x.requires_grad_();
  return x;
}

// The rows of torch_load_model.py: row r, value j = ((7 r + 13 j) % 17) / 16, as a batch of `sample`.
Tensor script_rows(std::int64_t rows, const SampleShape& sample) {
  Tensor x = Tensor::zeros(batch_of(rows, sample));
  const std::int64_t features = x.numel() / rows;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < features; ++j)
      x.data()[r * features + j] = static_cast<float>((7 * r + 13 * j) % 17) / 16.0f;
  return x;
}

// Dropout draws a new mask per call: reseeding before each forward fixes the function checked.
void reseed_dropouts(bend::nn::Module& m) {
  if (auto* d = dynamic_cast<bend::nn::Dropout*>(&m)) d->rng().seed_with(11);
  if (auto* d = dynamic_cast<bend::nn::Dropout2d*>(&m)) d->rng().seed_with(11);
  for (const auto& [name, child] : m.children()) reseed_dropouts(*child);
}

std::shared_ptr<bend::nn::Module> build(const LayerKind& kind, const LayerSpec& layer, const SampleShape& in,
                                        bend::Rng& rng) {
  bend::nn::LayerBuild context{bend::nn::init::Scheme::Torch, nullptr, rng};
  return kind.build(layer, in, context);
}

// The numbers after "key" on each of the output's lines that have it, one vector per line.
std::vector<std::vector<double>> numbers_after(const std::string& text, const std::string& key) {
  std::vector<std::vector<double>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(key)) continue;
    std::vector<double> values;
    for (const char* p = line.c_str() + key.size(); *p;) {
      if (*p == '[' || *p == ']' || *p == ',' || *p == ' ') {
        ++p;
        continue;
      }
      char* next = nullptr;
      values.push_back(std::strtod(p, &next));
      p = next;
    }
    out.push_back(std::move(values));
  }
  return out;
}

}  // namespace

TEST_CASE("layer table: every entry's token reads back to the same layer", "[layer_table]") {
  for (const LayerKind& kind : bend::nn::layer_table()) {
    INFO(kind.name);
    const LayerSpec layer = kind.layer(kind.example);
    CHECK(layer.kind == kind.name);
    // Every field has a value (the example's, or its default).
    for (const bend::nn::LayerField& f : kind.fields) CHECK(layer.args.contains(f.name));
    if (!kind.in_arch) continue;
    const std::string token = kind.token(layer);
    INFO(token);
    CHECK(bend::nn::layer_kind_for_token(token) == &kind);
    CHECK(kind.parse(token) == layer);
    CHECK(kind.token(kind.parse(token)) == token);
    CHECK_THAT(bend::nn::layer_grammar_help(), Catch::Contains(kind.grammar()));
  }
}

TEST_CASE("layer table: inferred shapes and counts are the built module's, which passes check_module",
          "[layer_table]") {
  for (const LayerKind& kind : bend::nn::layer_table()) {
    INFO(kind.name);
    const LayerSpec layer = kind.layer(kind.example);
    const SampleShape& in = kind.example_input;
    const bend::nn::LayerShape shape = kind.infer(layer, in);
    bend::Rng rng(3);
    auto module = build(kind, layer, in, rng);
    const Tensor x = pattern(batch_of(2, in), false);
    const Tensor y = (*module)(x);
    CHECK(y.shape() == batch_of(2, shape.output));
    CHECK(module->num_parameters() == shape.parameters);
    std::int64_t state = 0;
    std::vector<std::string> names;
    for (const auto& [name, t] : module->state_dict()) {
      state += t.numel();
      names.push_back(name);
    }
    CHECK(state - module->num_parameters() == shape.buffers);

    // Whether training changes the output (dropout, batch statistics): check_module checks it is so
    // exactly when the module says it is, and that eval() reaches every part.
    module->train();
    reseed_dropouts(*module);
    const Tensor trained = (*module)(x);
    module->eval();
    const Tensor evaluated = (*module)(x);
    const bool mode_dependent = trained.to_vector() != evaluated.to_vector();

    bend::testing::ModuleCase c;
    c.name = kind.token(layer);
    c.make = [&kind, layer, in](bend::Rng& r) { return build(kind, layer, in, r); };
    c.inputs = {pattern(batch_of(2, in), true)};
    c.forward = [](bend::nn::Module& m, const std::vector<Tensor>& inputs) {
      reseed_dropouts(m);
      return m.forward(inputs.at(0));
    };
    c.state_names = names;
    c.mode_dependent = mode_dependent;
    const bend::testing::CheckModuleResult result = bend::testing::check_module(c);
    INFO(result.report());
    CHECK(result.ok());
    CHECK(result.checks_run > 0);
  }
}

TEST_CASE("layer table: torch_load_model.py builds every entry as the torch.nn module it names",
          "[layer_table][torch]") {
  if (!bend::testing::require_available(
          std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0,
          "PyTorch for /usr/bin/python3", "apt-get install python3-torch (scripts/install-deps.sh does)"))
    return;
  const fs::path dir = fs::temp_directory_path() / "bend_test_layer_table_torch";
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Case {
    std::string name;
    std::shared_ptr<bend::nn::Module> module;
    SampleShape input;
    fs::path file;
  };
  std::vector<Case> cases;
  const auto add = [&](const LayerKind& kind, const LayerSpec& layer, const SampleShape& in) {
    bend::Rng rng(5);
    // In a Sequential, as the script builds it: state_dict names "0.weight", ... ("cls_token" for a kind
    // whose tensors sit in the model's own namespace)
    auto net = std::make_shared<bend::nn::Sequential>();
    net->push_back(bend::nn::layer_key(layer, 0), build(kind, layer, in, rng));
    Case c{kind.token(layer), net, in, dir / fmt::format("{}.safetensors", cases.size())};
    // Two training-mode passes move batch norm's running statistics off their defaults.
    for (int i = 0; i < 2; ++i) (*c.module)(pattern(batch_of(3, in), false));
    bend::nn::save_tensors(c.file, c.module->state_dict(),
                           {{"bend.layers", bend::nn::torch_layers_json(in, {layer})}});
    cases.push_back(std::move(c));
  };
  for (const LayerKind& kind : bend::nn::layer_table())
    add(kind, kind.layer(kind.example), kind.example_input);
  // Every activation of the activation table, as the "act" entry builds it.
  const LayerKind& act = bend::nn::find_layer_kind("act");
  for (const bend::ActivationInfo& info : bend::activation_table())
    add(act, act.layer({{"name", std::string(info.name)}}), {6});
  // The flat and image forms of batch norm.
  const LayerKind& batchnorm = bend::nn::find_layer_kind("batchnorm");
  add(batchnorm, batchnorm.layer({}), {7});

  std::string command = "/usr/bin/python3 " + std::string(BEND_SOURCE_DIR) + "/scripts/torch_load_model.py";
  for (const Case& c : cases) command += " " + c.file.string();
  const auto torch = bend::testing::run_command(command + " --rows 2");
  INFO(torch.out);
  REQUIRE(torch.code == 0);
  const auto outputs = numbers_after(torch.out, "outputs: ");
  REQUIRE(outputs.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name << " on " << bend::nn::sample_shape_string(cases[i].input));
    cases[i].module->eval();
    bend::NoGradGuard no_grad;
    const Tensor out = (*cases[i].module)(script_rows(2, cases[i].input));
    REQUIRE(outputs[i].size() == static_cast<std::size_t>(out.numel()));
    for (std::int64_t k = 0; k < out.numel(); ++k)
      CHECK(out.data()[k] == Approx(outputs[i][static_cast<std::size_t>(k)]).margin(1e-5).epsilon(1e-4));
  }
  fs::remove_all(dir);
}

}  // namespace BEND_UNITY_ID
