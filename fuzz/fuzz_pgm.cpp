// libFuzzer target: the PGM reader, then the resize to a model's 28x28 input that read_pgm does.
#include "bend/data/pgm.hpp"
#include "fuzz_target.hpp"

namespace {
void parse(std::span<const std::uint8_t> input) {
  const bend::PgmImage image = bend::parse_pgm(input, "fuzz.pgm");
  BEND_FUZZ_CHECK(static_cast<std::int64_t>(image.pixels.size()) == image.width * image.height);
  const std::vector<float> pixels =
      bend::resize_image(image.pixels.data(), image.height, image.width, 28, 28);
  BEND_FUZZ_CHECK(pixels.size() == 28u * 28u);
}
}  // namespace

BEND_FUZZ_TARGET(parse)
