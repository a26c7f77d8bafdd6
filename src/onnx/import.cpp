// ONNX graph -> bend model: the chain of layers (chain.cpp) written as a model spec (--arch, --act,
// --norm), so that the saved file is a model like any other for eval, predict, train and compare.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/error.hpp"
#include "bend/io/read_file.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/onnx/chain.hpp"
#include "bend/onnx/onnx.hpp"

namespace bend::onnx {
namespace {

bool is_norm(const ChainLayer& l) { return l.layer.kind == "batchnorm" || l.layer.kind == "layernorm"; }

nn::ModelSpec spec_of(const Chain& chain, std::string_view name) {
  const auto& layers = chain.layers;
  auto fail = [&](const ChainLayer& l, const std::string& why) -> void {
    throw ValueError(
        fmt::format("{}: node '{}' ({}): {}", name, l.node, nn::find_layer_kind(l.layer.kind).summary, why));
  };
  if (layers.empty() || layers.back().layer.kind != "dense")
    throw ValueError(
        fmt::format("{}: the graph does not end in a dense layer (Gemm or MatMul): bend's models end in "
                    "one output per class",
                    name));
  // Each hidden layer (a conv, a dense layer but the last): its norm and activation, if they follow it.
  struct Hidden {
    std::size_t index;
    std::string norm = "none";
    bool norm_then_act = false;
    std::string act = "none";
  };
  std::vector<Hidden> hidden;
  for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
    if (layers[i].layer.kind != "conv" && layers[i].layer.kind != "dense") continue;
    Hidden h{i};
    std::size_t j = i + 1;
    if (j < layers.size() && is_norm(layers[j])) {
      h.norm = layers[j].layer.kind == "batchnorm" ? "batch" : "layer";
      ++j;
    }
    if (j < layers.size() && layers[j].layer.kind == "act") {
      h.act = layers[j].layer.text("name");
      h.norm_then_act = h.norm != "none";
    }
    hidden.push_back(h);
  }
  std::string norm = hidden.empty() ? "none" : hidden.front().norm;
  for (const Hidden& h : hidden)
    if (h.norm != norm) norm = "mixed";
  std::vector<bool> taken(layers.size(), false);  // norms and activations the spec puts in by itself
  std::vector<std::string> acts;
  for (const Hidden& h : hidden) {
    if (norm == "mixed" && h.norm_then_act)
      fail(layers[h.index + 1],
           "a norm between a layer and its activation, which bend's --norm puts after every "
           "hidden layer or none");
    if (norm != "mixed" && norm != "none") taken[h.index + 1] = true;
    if (h.act != "none") taken[h.index + 1 + (h.norm != "none" ? 1 : 0)] = true;
    acts.push_back(h.act);
  }
  if (norm == "mixed") norm = "none";
  std::string arch = nn::sample_shape_string(chain.input);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const ChainLayer& l = layers[i];
    if (taken[i]) continue;
    if (l.layer.kind == "act")
      fail(l,
           fmt::format(
               "the activation {} comes after a layer that takes none in bend's model spec (only a conv or "
               "a hidden dense layer, or its norm, is followed by one)",
               l.layer.text("name")));
    arch += "-" + nn::find_layer_kind(l.layer.kind).token(l.layer);
  }
  nn::ModelSpec spec;
  try {
    spec = nn::ModelSpec::parse(arch, acts.empty() ? "relu" : fmt::format("{}", fmt::join(acts, ",")), norm);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: the graph reads as --arch {} but {}", name, arch, e.what()));
  }
  // The spec's modules are the chain's, in order (the import's own check).
  bool same = spec.layers.size() == layers.size();
  for (std::size_t i = 0; same && i < layers.size(); ++i) same = spec.layers[i].kind == layers[i].layer.kind;
  if (!same) throw ValueError(fmt::format("{}: the graph's layers do not form bend's --arch {}", name, arch));
  return spec;
}

}  // namespace

ImportedModel import_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors) {
  const Chain chain = read_chain(bytes, name_for_errors);
  ImportedModel out;
  out.spec = spec_of(chain, name_for_errors);
  out.normalization = chain.normalization;
  out.opset = chain.opset;
  out.producer = chain.producer;
  for (std::size_t i = 0; i < chain.layers.size(); ++i) {
    const std::string key = nn::layer_key(out.spec.layers[i], i);
    for (const auto& [tensor, value] : chain.layers[i].state)
      out.state.emplace_back(key + "." + tensor, value);
  }
  return out;
}

ImportedModel import_file(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_regular_file(path, "ONNX model");
  return import_model(bytes, path.string());
}

}  // namespace bend::onnx
