// libFuzzer target: reading an .onnx file with bend::onnx::import_model (protobuf, the graph walk, the
// pointwise runs' evaluation, the model spec), then building the model it describes, loading its tensors
// and one forward pass of a zero input. Debian's libonnx and protobuf are not instrumented: the fuzzer
// sees coverage of bend's side only, and ASan checks bend's code and the memory protobuf hands it.
#include <algorithm>

#include "bend/error.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/onnx/onnx.hpp"
#include "bend/rng.hpp"
#include "bend/tensor.hpp"
#include "fuzz_target.hpp"

namespace {

// Forward passes allocate every layer's output: keep the fuzzer to models of modest activations.
constexpr double kMaxValuesPerSample = 1 << 22;

void import_onnx(std::span<const std::uint8_t> input) {
  const bend::onnx::ImportedModel imported = bend::onnx::import_model(input, "fuzz.onnx");
  double largest = 0, parameters = 0;
  for (const bend::nn::LayerShape& layer : imported.spec.infer_shapes()) {
    double values = 1;
    for (std::int64_t d : layer.output) values *= static_cast<double>(d);
    largest = std::max(largest, values);
    parameters += static_cast<double>(layer.parameters);
  }
  if (largest > kMaxValuesPerSample || parameters > kMaxValuesPerSample) return;
  bend::Rng rng(0);
  bend::nn::Sequential model = bend::nn::build_model(imported.spec, bend::nn::init::Scheme::Auto, rng);
  model.load_state_dict(imported.state);
  model.eval();
  const bend::Tensor logits = model(bend::Tensor::zeros(bend::Shape{1, imported.spec.input_features()}));
  BEND_FUZZ_CHECK(logits.numel() == imported.spec.outputs());
}

}  // namespace

BEND_FUZZ_TARGET(import_onnx)
