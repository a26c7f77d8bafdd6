// Inputs standardised in training (--standardize) are standardised the same way at eval/predict time,
// from the statistics stored in the model's metadata.
#include <filesystem>

#include "bend/nn/serialize.hpp"
#include "bend/train/checkpoint.hpp"
#include "cli.hpp"

namespace bend::cli {

void apply_saved_normalization(Tensor& images, const nn::Metadata& metadata,
                               const std::filesystem::path& model) {
  // Validated (IoError naming the file and key): a value like "x" or a std of 0 is an error, not "stof"
  // or a NaN loss.
  const std::optional<Normalization> n = train::read_normalization(metadata, model);
  if (!n) return;
  for (float& v : images.span()) v = (v - n->mean) / n->std;
}

}  // namespace bend::cli
