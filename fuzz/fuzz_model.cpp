// libFuzzer target: loading a model from a safetensors file with bend::nn::parse_model (any model spec:
// an MLP, files from before model specs included, or a conv net), its saved input normalisation, then one
// forward pass of a zero input.
#include <algorithm>

#include "bend/error.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/tensor.hpp"
#include "bend/train/checkpoint.hpp"
#include "fuzz_target.hpp"

namespace {

// Forward passes allocate every layer's output: keep the fuzzer to models of modest activations.
constexpr double kMaxValuesPerSample = 1 << 22;

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

}  // namespace

BEND_FUZZ_TARGET(load_model)
