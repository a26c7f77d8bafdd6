// TransformerEncoder: a stack of copies of one encoder layer and an optional final norm.
#include "bend/nn/transformer_encoder.hpp"

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"

namespace bend::nn {

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& encoder_layer, std::int64_t num_layers,
                                       std::shared_ptr<LayerNorm> final_norm)
    : TransformerEncoder(encoder_layer, num_layers, std::move(final_norm), default_rng()) {}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& encoder_layer, std::int64_t num_layers,
                                       std::shared_ptr<LayerNorm> final_norm, Rng& rng)
    : layers(std::make_shared<Sequential>()), norm(std::move(final_norm)) {
  if (num_layers <= 0)
    throw ValueError(fmt::format("TransformerEncoder: num_layers must be positive, got {}", num_layers));
  const NamedTensors state = encoder_layer.state_dict();
  for (std::int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::make_shared<TransformerEncoderLayer>(encoder_layer.config(), rng);
    copy->load_state_dict(state);  // PyTorch deep-copies the layer: same starting values
    copy->train(encoder_layer.is_training());
    layers->push_back(copy);
    layer_list_.push_back(copy);
  }
  register_module("layers", layers);
  if (norm) register_module("norm", norm);
}

Tensor TransformerEncoder::forward(const Tensor& src, const EncoderMasks& masks) {
  Tensor x = src;
  for (const auto& layer : layer_list_) x = layer->forward(x, masks);
  return norm ? norm->forward(x) : x;
}

std::string TransformerEncoder::describe() const {
  return fmt::format("TransformerEncoder(num_layers={}, norm={})", layer_list_.size(),
                     norm ? "LayerNorm" : "None");
}

}  // namespace bend::nn
