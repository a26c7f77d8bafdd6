#pragma once
// The layer table behind model specs (bend/nn/model_spec.hpp): one entry per kind of layer, the only
// place that knows its --arch token, its shape rule, its parameter count and how to build it. The
// parser, the printer, shape inference, the builder, the help text and the PyTorch script's layer list
// all read it; a new kind of layer is one entry in src/nn/layer_table.cpp.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bend/nn/model_spec.hpp"

namespace bend {
struct ActivationInfo;
}

namespace bend::nn {

// What a build function needs besides the layer and its input.
struct LayerBuild {
  init::Scheme scheme;
  const ActivationInfo* next_activation;  // the activation after this layer (null: none)
  Rng& rng;
};

struct LayerKind {
  std::string_view name;                   // LayerSpec::kind
  std::vector<std::string_view> prefixes;  // the token's letters ("c"; "p", "mp"); empty: no --arch token
  std::string_view grammar;                // for help: "c<out>k<kernel>[s<stride>][p<padding>][d<dilation>]"
  std::string_view summary;                // for help: "Conv2d"
  // The --arch token (prefix included) to a layer; ValueError naming the token when it does not read.
  LayerSpec (*parse)(std::string_view token);
  std::string (*token)(const LayerSpec&);  // back to the canonical --arch token
  // The output shape and parameter count for one input sample; ValueError saying why when the layer
  // cannot take that input (the caller names the layer).
  LayerShape (*infer)(const LayerSpec&, const SampleShape& input);
  std::shared_ptr<Module> (*build)(const LayerSpec&, const SampleShape& input, LayerBuild& context);
  // One line of the explicit layer list (bend.layers), e.g. "Conv2d in=1 out=6 kernel=5 stride=1
  // padding=2 dilation=1": PyTorch's class name and its arguments.
  std::string (*explicit_form)(const LayerSpec&, const SampleShape& input);
};

const std::vector<LayerKind>& layer_table();
// The entry called `name`; ValueError when there is none.
const LayerKind& find_layer_kind(std::string_view name);
// The entry whose prefix the --arch token starts with (the longest one), or the dense entry for a
// number; nullptr when none.
const LayerKind* layer_kind_for_token(std::string_view token);
// The --arch token list for help texts: "c<out>k<kernel>... Conv2d; p<kernel>[s<stride>] MaxPool2d; ...".
std::string layer_grammar_help();

}  // namespace bend::nn
