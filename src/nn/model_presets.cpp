// The preset models of `bend train --model`.
#include "bend/nn/model_presets.hpp"

#include <fmt/format.h>

namespace bend::nn {
namespace {

std::int64_t values(const SampleShape& input) {
  std::int64_t n = 1;
  for (std::int64_t d : input) n *= d;
  return n;
}

// Today's default MLP: flat input, two hidden layers.
std::string mlp_arch(const SampleShape& input, std::int64_t classes) {
  return fmt::format("{}-256-128-{}", values(input), classes);
}

// LeCun et al.'s LeNet-5 took 32x32 images; padding 2 on the first conv gives MNIST's 28x28 images the
// same geometry: 28 -> conv5 pad2 -> 6x28x28 -> pool -> 6x14x14 -> conv5 -> 16x10x10 -> pool -> 16x5x5
// -> 400 -> 120 -> 84 -> classes. Max pooling and the chosen --act stand in for the paper's subsampling
// and scaled tanh, as in most modern renditions.
std::string lenet5_arch(const SampleShape& input, std::int64_t classes) {
  return fmt::format("{}-c6k5p2-p2-c16k5-p2-120-84-{}", sample_shape_string(input), classes);
}

// A small vision transformer (Dosovitskiy et al.'s ViT, pre-norm), named as a torch ViT built from
// standard parts: patch_embed (Conv2d, kernel = stride = patch), cls_token, pos_embed, blocks.N
// (nn.TransformerEncoderLayer(d, heads, ff, batch_first=True, norm_first=True)), norm (the final
// LayerNorm, here on the class token alone, which is the same) and head (Linear on the class token).
// Patch 7 on 28x28 images: 16 tokens of 64 values, plus the class token.
std::string vit_arch(const SampleShape& input, std::int64_t classes) {
  if (input.size() != 3) return fmt::format("{}-patch7d64", values(input));  // parse says what is wrong
  std::int64_t patch = 7;
  for (std::int64_t p : {7, 8, 4, 2, 1})
    if (input[1] % p == 0 && input[2] % p == 0) {
      patch = p;
      break;
    }
  return fmt::format("{}-patch{}d64:patch_embed-cls-pos-tf4h4f128:blocks-tok0-ln:norm-{}:head",
                     sample_shape_string(input), patch, classes);
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = {
      {"mlp", "the default MLP: <inputs>-256-128-<classes>", mlp_arch},
      {"lenet5", "LeNet-5: c6k5p2-p2-c16k5-p2-120-84-<classes> (classic geometry on 28x28 images)",
       lenet5_arch},
      {"vit",
       "a vision transformer: patch7d64-cls-pos-tf4h4f128-tok0-ln-<classes> (4 pre-norm blocks, 4 heads; "
       "--act: the feed-forward's, default gelu; one epoch of linear warm-up unless --warmup is given)",
       vit_arch, "gelu", 1.0},
  };
  return presets;
}

const ModelPreset* find_model_preset(std::string_view name) {
  for (const ModelPreset& p : model_presets())
    if (p.name == name) return &p;
  return nullptr;
}

std::string model_preset_names() {
  std::string out;
  for (const ModelPreset& p : model_presets()) out += fmt::format("{}{}", out.empty() ? "" : ", ", p.name);
  return out;
}

}  // namespace bend::nn
