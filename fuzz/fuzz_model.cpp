// libFuzzer target: loading a model (bend::nn::parse_mlp, the in-memory load_mlp) from a safetensors
// file, its saved input normalisation, then one forward pass of a zero input through it.
#include "bend/nn/serialize.hpp"
#include "bend/tensor.hpp"
#include "bend/train/checkpoint.hpp"
#include "fuzz_target.hpp"

namespace {
void load(std::span<const std::uint8_t> input) {
  bend::nn::LoadedMlp loaded = bend::nn::parse_mlp(input, "fuzz.safetensors");
  bend::train::read_normalization(loaded.metadata, "fuzz.safetensors");  // what eval and predict apply
  const std::int64_t features = loaded.spec.sizes.front();
  const bend::Tensor logits = loaded.model(bend::Tensor::zeros(bend::Shape{1, features}));
  BEND_FUZZ_CHECK(logits.numel() == loaded.spec.sizes.back());
}
}  // namespace

BEND_FUZZ_TARGET(load)
