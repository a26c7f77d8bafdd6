// Inputs standardised in training (--standardize) are standardised the same way at eval/predict time,
// from the statistics stored in the model's metadata.
#include <string>

#include "bend/data/loader.hpp"
#include "bend/nn/serialize.hpp"
#include "cli.hpp"

namespace bend::cli {

void apply_saved_normalization(Tensor& images, const nn::Metadata& metadata) {
  auto mean = metadata.find("bend.input_mean"), std = metadata.find("bend.input_std");
  if (mean == metadata.end() || std == metadata.end()) return;
  const Normalization n = parse_normalization(mean->second, std->second);
  for (float& v : images.span()) v = (v - n.mean) / n.std;
}

}  // namespace bend::cli
