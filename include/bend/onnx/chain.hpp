#pragma once
// The importer's middle step: an ONNX graph read as a chain of bend layers (entries of the layer table,
// bend/nn/layer_table.hpp) with their tensors, before it becomes a model spec. `bend import` turns the
// chain into a ModelSpec (bend/onnx/onnx.hpp); tests/onnx/test_onnx_conformance.cpp runs a chain of any
// shape, as ONNX's node tests need (a lone Relu on a [3, 4, 5] input is no model spec).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/sequential.hpp"

namespace bend::onnx {

struct ChainLayer {
  nn::LayerSpec layer;
  nn::SampleShape input;   // one sample going in
  nn::NamedTensors state;  // the module's own state_dict() names: "weight", "bias", "running_mean", ...
  std::string node;        // the (first) ONNX node it comes from, for messages
};

struct Chain {
  nn::SampleShape input;  // one sample (the graph input without its batch dimension)
  std::vector<ChainLayer> layers;
  std::optional<Normalization> normalization;  // (x - mean) / std as the graph's first nodes
  std::int64_t opset = 0;
  std::string producer;
  bool softmax_output = false;  // the graph ends in Softmax or LogSoftmax (left out of the chain)
};

// Reads the chain; bend::ValueError (one line, starting with `name_for_errors`) for a corrupt or
// truncated file, an opset newer than kOpset, or the node bend has no layer for, with its op and the
// attribute or input that is the reason.
Chain read_chain(std::span<const std::uint8_t> bytes, std::string_view name_for_errors);

// The chain's modules with their tensors, in eval mode: a Sequential for inputs [N, ...chain.input].
nn::Sequential build_chain(const Chain& chain);

}  // namespace bend::onnx
