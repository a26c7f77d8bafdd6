// bend export --onnx: every activation, the MLPs, the CNN presets, --arch specs and the ViT as ONNX graphs
// that pass onnx.checker, and whose probabilities in ONNX Runtime (onnxruntime-node) on 1,000 MNIST test
// images equal bend's (1e-5; 1e-4 with attention) with the same labels.
#if BEND_HAVE_ONNX
#include "build_paths.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/onnx/onnx.hpp"
#include "bend/rng.hpp"
#include "onnx_support.hpp"
#include "scratch_files.hpp"

namespace BEND_UNITY_ID {

using namespace bend::testing::onnx_support;  // with fs and ScratchDir

namespace {

struct Exported {
  std::string label;
  fs::path model, onnx;
  std::vector<std::int64_t> dims;
  double tolerance;
};

// A model of `spec` (initialised with seed `seed`) saved and exported into `dir`.
Exported save_and_export(const fs::path& dir, const std::string& label, const bend::nn::ModelSpec& spec,
                         std::uint64_t seed, double tolerance) {
  bend::Rng rng(seed);
  bend::nn::Sequential model = bend::nn::build_model(spec, bend::nn::init::Scheme::Auto, rng);
  Exported e{label, dir / (label + ".safetensors"), dir / (label + ".onnx"), {1000}, tolerance};
  bend::nn::save_model(e.model, model, spec);
  bend::onnx::export_file(e.model, e.onnx);
  e.dims.insert(e.dims.end(), spec.input.begin(), spec.input.end());
  return e;
}

void check_all(const std::vector<Exported>& models, const fs::path& dir) {
  std::vector<fs::path> files;
  for (const Exported& e : models) files.push_back(e.onnx);
  const bend::testing::CommandResult checked = check_with_onnx_checker(files);
  INFO(checked.out);
  REQUIRE(checked.code == 0);
  const bend::Tensor images = mnist_test_images(1000);
  std::vector<OrtJob> jobs;
  for (const Exported& e : models) jobs.push_back({e.onnx, e.dims});
  const auto ort = ort_probabilities(jobs, images, dir);
  for (std::size_t i = 0; i < models.size(); ++i) {
    INFO(models[i].label);
    const Agreement a = compare_probabilities(ort[i], bend_probabilities(models[i].model, images), 10);
    CHECK(a.max_difference <= models[i].tolerance);
    CHECK(a.label_mismatches == 0);
  }
}

}  // namespace

TEST_CASE("ONNX export: an MLP with each activation of the table runs in ONNX Runtime as in bend",
          "[onnx][export][mnist]") {
  if (!require_mnist() || !require_python_onnx() || !require_onnxruntime()) return;
  ScratchDir dir("bend_onnx_acts");
  std::vector<Exported> models;
  std::uint64_t seed = 1;
  for (const bend::ActivationInfo& a : bend::activation_table())
    models.push_back(save_and_export(dir.path(), std::string(a.name),
                                     bend::nn::ModelSpec::mlp({784, 48, 32, 10}, a.name), seed++, 1e-5));
  models.push_back(
      save_and_export(dir.path(), "swiglu", bend::nn::ModelSpec::mlp({784, 48, 10}, "swiglu"), seed, 1e-5));
  check_all(models, dir.path());
}

namespace {

// The presets (with `attention`: the ViT; else the CNNs, with and without batch norm) and the --arch specs.
void check_models(bool attention, const char* label) {
  ScratchDir dir(label);
  const bend::nn::SampleShape image{1, 28, 28};
  std::vector<Exported> models;
  for (const bend::nn::ModelPreset& p : bend::nn::model_presets()) {
    if ((p.name == "vit") != attention) continue;
    const std::string act = p.default_act.empty() ? "relu" : std::string(p.default_act);
    for (const char* norm : {"none", "batch"}) {
      if (std::string(norm) == "batch" && attention) continue;
      const auto spec = bend::nn::ModelSpec::parse(p.arch(image, 10), act, norm, 0.1f, &image);
      models.push_back(
          save_and_export(dir.path(), std::string(p.name) + "-" + norm, spec, 7, attention ? 1e-4 : 1e-5));
    }
  }
  const std::pair<const char*, const char*> specs[] = {
      {"1x28x28-c8k3s2p1d1-ap2s2p1-c8k3d2p2-mp3s2p1c-bn-f-ln-drop0.2-32-10", "gelu,silu,mish"},
      {"1x28x28-c4k5-drop2d0.1-p2-c6k3p1-ap2c-64-adrop0.1-10", "selu,elu,celu"},
      {"1x28x28-patch4d32-cls-pos-tf2h4f64-tok0-ln-10", "swiglu"},
      {"1x28x28-patch7d24-pos-tf1h2f48-tok3-10", "prelu"},
  };
  int i = 0;
  for (const auto& [arch, act] : specs) {
    const bool transformer = std::string(arch).find("tf") != std::string::npos;
    if (transformer != attention) continue;
    const auto spec = bend::nn::ModelSpec::parse(arch, act, "none", 0.0f, &image);
    models.push_back(
        save_and_export(dir.path(), "arch" + std::to_string(i++), spec, 11, attention ? 1e-4 : 1e-5));
  }
  check_all(models, dir.path());
}

}  // namespace

TEST_CASE("ONNX export: the CNN presets and --arch specs run in ONNX Runtime as in bend",
          "[onnx][export][mnist]") {
  if (!require_mnist() || !require_python_onnx() || !require_onnxruntime()) return;
  check_models(false, "bend_onnx_cnns");
}

TEST_CASE("ONNX export: the ViT and transformer specs run in ONNX Runtime as in bend (1e-4)",
          "[onnx][export][mnist]") {
  if (!require_mnist() || !require_python_onnx() || !require_onnxruntime()) return;
  check_models(true, "bend_onnx_vits");
}

TEST_CASE("ONNX export: a layer ONNX cannot express is named", "[onnx][export]") {
  ScratchDir dir("bend_onnx_refused");
  const bend::nn::SampleShape image{1, 28, 28};
  // ceil_mode with a last window hanging over the input: ONNX's AveragePool does not divide as PyTorch does.
  const auto spec = bend::nn::ModelSpec::parse("1x28x28-c2k3-ap3s2c-10", "relu", "none", 0.0f, &image);
  bend::Rng rng(1);
  bend::nn::Sequential model = bend::nn::build_model(spec, bend::nn::init::Scheme::Auto, rng);
  bend::nn::save_model(dir.path() / "m.safetensors", model, spec);
  CHECK_THROWS_WITH(bend::onnx::export_file(dir.path() / "m.safetensors", dir.path() / "m.onnx"),
                    Catch::Contains("layer 2 (ap3s2c") && Catch::Contains("AveragePool"));
  CHECK_FALSE(fs::exists(dir.path() / "m.onnx"));
}

}  // namespace BEND_UNITY_ID
#endif
