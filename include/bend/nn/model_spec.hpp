#pragma once
// Models from a spec: any nn.Sequential of bend's layers written as one line a person can read and type,
// e.g. "c6k5p2-p2-c16k5-p2-120-84-10" (LeNet-5), plus the hidden activation(s), an optional norm and
// dropout. The spec travels in a saved model's metadata, so the file alone rebuilds the model.
//
// The --arch grammar: tokens joined by '-', in order.
//   1x28x28  CxHxW   the input sample shape (first token only; default: the dataset's, e.g. 1x28x28)
//   784      N       first token: a flat input of N values (the MLP spec "784-256-128-10");
//                    later: a dense (Linear) layer with N outputs. The last token is the output layer.
//   c6k5s1p2d1       Conv2d: 6 output channels, kernel 5, then optional stride s, zero padding p and
//                    dilation d (defaults 1, 0, 1). Square kernels.
//   p2 / p3s2p1d2c   MaxPool2d: kernel 2 (stride = kernel unless s is given), then optional padding p,
//                    dilation d and c for ceil_mode (PyTorch's output size rule). "mp2" is the same.
//   ap2 / ap3s2p1c   AvgPool2d: the same without dilation (padding counts in the mean, as PyTorch's
//                    count_include_pad).
//   f                Flatten; implicit before the first dense layer after a conv or pool.
//   bn               BatchNorm1d (flat input) or BatchNorm2d (image input).
//   ln               LayerNorm over the whole sample shape.
//   drop0.5          Dropout(0.5); "drop2d0.25" is Dropout2d(0.25).
// Token sequences (a vision transformer; samples [tokens, d] between these layers):
//   patch7d64        PatchEmbedding: 7x7 patches (kernel = stride = 7) of an image, each to 64 values:
//                    1x28x28 -> 16x64 (16 tokens of 64)
//   cls              ClassToken: a learned token first (16x64 -> 17x64); its parameter is "cls_token"
//   pos              PositionEmbedding: a learned position table added (as long as its input); its
//                    parameter is "pos_embed"
//   tf4h4f128        4 TransformerEncoderLayers (pre-norm, batch_first, dropout 0), 4 heads,
//                    dim_feedforward 128; the feed-forward activation is the --act for this hidden layer
//                    (swiglu: the gated block of bend/nn/transformer_encoder_layer.hpp)
//   tok0             TakeToken: token 0 (the class token), 17x64 -> 64
// A token may end in ":name", the module's name in the state dict instead of its index: "ln:norm",
// "10:head", "tf4h4f128:blocks" (blocks.0.self_attn.in_proj_weight, ...).
//   adrop0.1         AlphaDropout(0.1), for SELU nets ("784-256-adrop0.1-256-10" with --act selu).
// The hidden activation (--act: one name, or one per hidden layer; "none": no activation, a linear
// layer) goes after each conv and each hidden dense layer, and inside each tf layer's feed-forward blocks;
// --norm batch|layer puts a BatchNorm1d/2d or LayerNorm before each of those activations; --dropout p puts a
// Dropout after each hidden dense layer's activation. A hidden dense layer with activation "swiglu" is one
// SwiGLU block.
//
// Module names follow torch.nn.Sequential of the same layers: "0.weight", "1.running_mean", ..., except
// where a token names its module.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bend/nn/init.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

// A layer's argument: a whole number, a real number (a dropout probability) or a name (an activation).
using LayerArg = std::variant<std::int64_t, double, std::string>;
using LayerArgs = std::map<std::string, LayerArg, std::less<>>;

// One module of the expanded spec: an entry of the layer table (bend/nn/layer_table.hpp) and its
// arguments, named as the entry's fields ("out", "kernel", "stride", "p", "features", "name", ...).
struct LayerSpec {
  std::string kind;  // "conv", "maxpool", "avgpool", "flatten", "batchnorm", "layernorm", "dropout",
                     // "dropout2d", "alphadropout", "dense", "swiglu", "act"
  LayerArgs args;
  // The module's name in the model ("patch_embed", "blocks", "head": --arch "ln:norm"); empty: its index
  // ("0", "1", ...), as nn.Sequential. A kind whose state sits in the model's own namespace (a class
  // token's "cls_token") takes no name.
  std::string name{};
  // The argument `name`; ValueError naming the layer kind when it is absent or of another type.
  std::int64_t whole(std::string_view name) const;
  double real(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  friend bool operator==(const LayerSpec&, const LayerSpec&) = default;
};

using SampleShape = std::vector<std::int64_t>;  // one sample, without the batch dimension

// What one layer does to a sample, from shape inference.
struct LayerShape {
  SampleShape output;
  std::int64_t parameters = 0;  // trained values; -1 when the count does not fit in 63 bits
  std::int64_t buffers = 0;     // saved non-trained values (batch norm's running statistics)
};

struct ModelSpec {
  SampleShape input;                     // {784} or {1, 28, 28}
  std::vector<LayerSpec> arch;           // the --arch tokens after the input (no activations)
  std::vector<std::string> activations;  // one per hidden layer (convs and hidden dense layers)
  std::string norm = "none";             // "none" | "batch" | "layer"
  float dropout = 0.0f;                  // after each hidden dense layer's activation
  std::vector<LayerSpec> layers;  // every module in order: arch + flatten, norms, activations, dropouts

  // `arch` in the grammar above; `input` is the sample shape used when arch does not start with one
  // (nullptr: arch must start with one). Throws bend::ValueError naming the token or layer that is wrong,
  // including shapes that do not fit (a kernel larger than its input, a pool that leaves 0x0).
  static ModelSpec parse(std::string_view arch, std::string_view acts, std::string_view norm = "none",
                         float dropout = 0.0f, const SampleShape* input = nullptr);
  // The MLP sizes[0]-sizes[1]-...-sizes.back() (a dense-only spec): parse("784-256-10", acts, "none",
  // dropout). `acts` as parse's, e.g. "relu" or "relu,gelu"; "none" leaves a hidden layer linear.
  static ModelSpec mlp(const std::vector<std::int64_t>& sizes, std::string_view acts, float dropout = 0.0f);
  std::string arch_string() const;  // canonical, with the input first: "1x28x28-c6k5p2-p2-...-10"
  std::string act_string() const;   // "relu,relu"
  // Every module as the torch.nn module it equals, JSON (metadata bend.layers; see torch_layers_json in
  // bend/nn/layer_table.hpp): what scripts/torch_load_model.py builds the same nn.Sequential from.
  std::string layers_string() const;
  std::int64_t hidden_layers() const { return static_cast<std::int64_t>(activations.size()); }
  std::int64_t input_features() const;  // product of input
  std::int64_t outputs() const;         // the last layer's output values

  // Each module's output shape and parameter count (same length as `layers`).
  std::vector<LayerShape> infer_shapes() const;
  // ValueError when a dataset sample of shape `sample` cannot go in (its size differs from the input's).
  void check_input(const SampleShape& sample, std::string_view dataset_name) const;

  // Metadata keys ("bend.arch", "bend.act", "bend.norm", "bend.dropout", "bend.layers"). Files from
  // before model specs (bend.arch "784-256-128-10", bend.act, bend.dropout) read the same as then.
  std::map<std::string, std::string> to_metadata() const;
  static bool has_metadata(const std::map<std::string, std::string>& metadata);
  // Throws bend::ValueError naming the key when a value does not parse.
  static ModelSpec from_metadata(const std::map<std::string, std::string>& metadata);
};

// "1x28x28" for {1, 28, 28}, "784" for {784}.
std::string sample_shape_string(const SampleShape& shape);

// Throws bend::ValueError naming the layer when its weights, or all weights together, or one sample's
// activations cannot fit in this machine's physical memory. build_model calls it before allocating.
void check_model_fits_in_memory(const ModelSpec& spec);

// The Sequential of spec.layers, initialised with `scheme` (convs and dense layers alike; see
// init::init_linear); an image input is set as its input shape (Sequential::set_input_shape), so it
// takes flat samples too.
Sequential build_model(const ModelSpec& spec, init::Scheme scheme, Rng& rng);

}  // namespace bend::nn
