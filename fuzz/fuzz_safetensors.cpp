// libFuzzer target: the safetensors reader, then what load_tensors does with each tensor (a Shape
// and a Tensor of it).
#include "bend/io/safetensors.hpp"
#include "bend/tensor.hpp"
#include "fuzz_target.hpp"

namespace {
void parse(std::span<const std::uint8_t> input) {
  const bend::SafetensorsFile file = bend::parse_safetensors(input, "fuzz.safetensors");
  for (const bend::SafetensorsTensor& t : file.tensors) {
    const bend::Shape shape(t.shape);
    BEND_FUZZ_CHECK(shape.numel() == static_cast<std::int64_t>(t.data.size()));
    const bend::Tensor tensor = bend::Tensor::from(t.data, shape);
    BEND_FUZZ_CHECK(tensor.numel() == shape.numel());
  }
}
}  // namespace

BEND_FUZZ_TARGET(parse)
