#pragma once
// ONNX export and import (bend::onnx, CMake option BEND_ONNX): a bend model as an ONNX graph that ONNX
// Runtime runs, and an ONNX graph that is a chain of ops bend has as a bend model. Written and read with
// Debian's ONNX library and protobuf (libonnx-dev, libprotobuf-dev).
//
// The exported graph (opset 17, IR version 8): input "input" [batch, ...sample] with a dynamic batch
// ([batch, 784] for an MLP, [batch, 1, 28, 28] for a CNN or a ViT), raw pixels in [0, 1] (a model trained
// with --standardize has its (x - mean) / std as the graph's first two nodes); outputs "logits"
// [batch, classes] and "probabilities" (their Softmax). Initializers carry the state dict's names.
// An activation with no ONNX op of its own is written as its exact composition (GELU through Erf).
//
// A GPT (`bend train --model gpt`, bend/nn/gpt.hpp) is exported as nanoGPT's forward: input "idx" int64
// [batch, T] (token ids, T <= block_size, both dynamic), output "logits" float [batch, T, vocab_size]
// (with the adaptive head, the log-probabilities GPT::forward gives). Token and position embeddings by
// Gather (positions Range(0, T)), pre-norm blocks with an additive causal mask built from T, the final
// LayerNorm and the head tied to transformer.wte.weight (one initializer, transposed in the graph);
// dropout is left out. metadata_props carry the config and the vocabulary (bend.gpt.*, bend.vocab*).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bend/data/loader.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"

namespace bend::onnx {

// The opset bend writes, and the newest it reads.
inline constexpr std::int64_t kOpset = 17;

// The serialized ModelProto of `spec` with the values of `state` (the model's state_dict()); `metadata`
// goes into the model's metadata_props (bend.arch, bend.act, ...). Passes onnx::checker before it is
// returned. ValueError naming the layer when ONNX cannot express one.
std::string export_model(const nn::ModelSpec& spec, const nn::NamedTensors& state,
                         const nn::Metadata& metadata, const std::optional<Normalization>& normalization);
// The serialized ModelProto of a GPT with `config` and the values of `state` (its state_dict()), as above.
// ValueError when a tensor is missing or its embeddings do not have the config's sizes.
std::string export_gpt(const nn::GPTConfig& config, const nn::NamedTensors& state,
                       const nn::Metadata& metadata);
// Reads a bend model file (a classifier, bend::nn::load_model, or a GPT; a GPT checkpoint too) and writes its
// ONNX graph to `onnx_path`, atomically.
void export_file(const std::filesystem::path& model_path, const std::filesystem::path& onnx_path);

// An ONNX graph read as a bend model.
struct ImportedModel {
  nn::ModelSpec spec;
  nn::NamedTensors state;  // under the names of build_model(spec)'s state_dict()
  std::optional<Normalization> normalization;
  std::int64_t opset = 0;
  std::string producer;  // "pytorch 1.13.1", "bend 0.1.0"
};
// Parses the bytes of an .onnx file; `name_for_errors` stands for the file. bend::ValueError (one line)
// for a corrupt or truncated file, an opset newer than kOpset, or a node bend has no layer for (naming
// the node, its op and the attribute).
ImportedModel import_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors);
ImportedModel import_file(const std::filesystem::path& path);

}  // namespace bend::onnx
