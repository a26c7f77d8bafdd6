#pragma once
// The layer table behind model specs (bend/nn/model_spec.hpp): one entry per kind of layer, the only
// place that knows its --arch token, its shape rule, its parameter count, how to build it and the
// torch.nn module it equals. The parser, the printer, shape inference, the builder, the help text, the
// bend.layers metadata and scripts/torch_load_model.py all read it. A new kind of layer is its module,
// its op, and one entry in src/nn/layer_table.cpp; tests/test_layer_table.cpp checks every entry.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

// One argument of a layer and its place in the --arch token: the token is the prefix, the lead field's
// value, then each other field given as its letter and value ("c6k5s2": out 6, kernel 5, stride 2).
struct LayerField {
  enum class Type { Whole, Real, Flag, Name };
  char letter = 0;  // 0: the lead, the value right after the prefix; a Flag is its letter alone
  std::string_view name{};
  Type type = Type::Whole;
  std::int64_t fallback = 0;       // when not given (Whole, Flag); a lead is always required
  std::string_view fallback_to{};  // when not given: that field's value (a pool's stride: its kernel)
  bool required = false;           // a lettered field that must be given (a conv's kernel)
  std::int64_t min = 0;            // Whole: the allowed range
  std::int64_t max = 1'000'000'000;
};

// The torch.nn module a layer equals: its class name and keyword arguments, as
// getattr(torch.nn, name)(**args) builds it (scripts/torch_load_model.py).
// A container (Sequential) lists its modules, given to it in order. An argument that is itself a module
// (a TransformerEncoderLayer's activation) is written as {"name": ..., "args": {...}}.
struct TorchModule {
  std::string name{};
  nlohmann::ordered_json args = nlohmann::ordered_json::object();
  std::vector<TorchModule> modules{};
  nlohmann::ordered_json to_json() const;
};

struct LayerKind {
  std::string_view name{};                   // LayerSpec::kind
  std::vector<std::string_view> prefixes{};  // the token's letters ("c"; "p", "mp"); empty: a bare number
  std::vector<LayerField> fields{};          // the token grammar and LayerSpec::args
  std::string_view summary{};                // for help: "Conv2d"
  bool in_arch = true;  // false: what --act puts in (the activation, a SwiGLU block); no --arch token
  // The module's tensors sit in the model's own namespace ("cls_token", "pos_embed"), as a torch model
  // holding those parameters itself; such a layer takes no ":name".
  bool own_namespace = false;
  // Takes the hidden activation (--act) as its argument "act" (a transformer block's feed-forward);
  // when absent, build and torch use "gelu".
  bool takes_activation = false;
  // The output shape, parameter and buffer counts for one input sample; ValueError saying why when the
  // layer cannot take that input (the caller names the layer).
  LayerShape (*infer)(const LayerSpec&, const SampleShape& input) = nullptr;
  std::shared_ptr<Module> (*build)(const LayerSpec&, const SampleShape& input, LayerBuild& context) = nullptr;
  TorchModule (*torch)(const LayerSpec&, const SampleShape& input) = nullptr;
  // For tests/test_layer_table.cpp: a layer of this kind (args) and an input it takes.
  LayerArgs example{};
  SampleShape example_input{};

  // The --arch token (prefix included) to a layer; ValueError naming the token when it does not read.
  LayerSpec parse(std::string_view token) const;
  std::string token(const LayerSpec& layer) const;  // the canonical token (defaults left out)
  std::string grammar() const;                      // "c<out>k<kernel>[s<stride>][p<padding>][d<dilation>]"
  LayerSpec layer(LayerArgs args) const;            // the fields not in `args` at their defaults
};

const std::vector<LayerKind>& layer_table();
// The entry called `name`; ValueError when there is none.
const LayerKind& find_layer_kind(std::string_view name);
// The entry whose prefix the --arch token starts with (the longest one), or the dense entry for a
// number; nullptr when none.
const LayerKind* layer_kind_for_token(std::string_view token);
// The --arch token list for help texts: "c<out>k<kernel>... Conv2d; p<kernel>[s<stride>] MaxPool2d; ...".
std::string layer_grammar_help();
// The name of the `index`th module of a model in its Sequential: the layer's name, its index, or "" for a
// kind whose tensors sit in the model's own namespace.
std::string layer_key(const LayerSpec& layer, std::size_t index);
// The torch.nn.Sequential of `layers` on `input` samples, as JSON (metadata bend.layers):
// {"input": [1, 28, 28], "modules": [{"name": "Conv2d", "args": {"in_channels": 1, ...}}, ...]}; a
// module whose name is not its index has "key" (its name; "" for the model's own namespace).
std::string torch_layers_json(const SampleShape& input, const std::vector<LayerSpec>& layers);

}  // namespace bend::nn
