// Inputs standardised in training (--standardize) are standardised the same way at eval/predict time,
// from the statistics stored in the model's metadata.
#include <string>

#include "bend/nn/serialize.hpp"
#include "cli.hpp"

namespace bend::cli {

void apply_saved_normalization(Tensor& images, const nn::Metadata& metadata) {
  auto mean = metadata.find("bend.input_mean"), std = metadata.find("bend.input_std");
  if (mean == metadata.end() || std == metadata.end()) return;
  const float m = std::stof(mean->second), s = std::stof(std->second);
  for (float& v : images.span()) v = (v - m) / s;
}

}  // namespace bend::cli
