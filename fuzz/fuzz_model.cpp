// libFuzzer target: loading a model from a safetensors file, both with bend::nn::parse_mlp (the in-memory
// load_mlp, MLP files) and bend::nn::parse_model (any model spec, e.g. a conv net), its saved input
// normalisation, then one forward pass of a zero input through each.
#include <algorithm>

#include "bend/error.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/tensor.hpp"
#include "bend/train/checkpoint.hpp"
#include "fuzz_target.hpp"

namespace {

// Forward passes allocate every layer's output: keep the fuzzer to models of modest activations.
constexpr double kMaxValuesPerSample = 1 << 22;

void load_mlp(std::span<const std::uint8_t> input) {
  bend::nn::LoadedMlp loaded = bend::nn::parse_mlp(input, "fuzz.safetensors");
  bend::train::read_normalization(loaded.metadata, "fuzz.safetensors");  // what eval and predict apply
  const std::int64_t features = loaded.spec.sizes.front();
  const bend::Tensor logits = loaded.model(bend::Tensor::zeros(bend::Shape{1, features}));
  BEND_FUZZ_CHECK(logits.numel() == loaded.spec.sizes.back());
}

void load_model(std::span<const std::uint8_t> input) {
  bend::nn::LoadedModel loaded = bend::nn::parse_model(input, "fuzz.safetensors");
  bend::train::read_normalization(loaded.metadata, "fuzz.safetensors");
  double largest = 0;
  for (const bend::nn::LayerShape& layer : loaded.spec.infer_shapes()) {
    double values = 1;
    for (std::int64_t d : layer.output) values *= static_cast<double>(d);
    largest = std::max(largest, values);
  }
  if (largest > kMaxValuesPerSample) return;
  const bend::Tensor logits = loaded.model(bend::Tensor::zeros(bend::Shape{1, loaded.spec.input_features()}));
  BEND_FUZZ_CHECK(logits.numel() == loaded.spec.outputs());
}

void load(std::span<const std::uint8_t> input) {
  // Each loader either loads the file or rejects it with one of bend's errors (the harness lets those
  // through); run the second even when the first rejects the file.
  try {
    load_mlp(input);
  } catch (const bend::Error&) {
  }
  load_model(input);
}

}  // namespace

BEND_FUZZ_TARGET(load)
