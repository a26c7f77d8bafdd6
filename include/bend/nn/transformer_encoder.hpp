#pragma once
// TransformerEncoder(encoder_layer, num_layers, norm): num_layers copies of encoder_layer run in turn, then
// norm (optional), as torch.nn.TransformerEncoder. Like PyTorch's deep copies, every layer starts with
// encoder_layer's parameter values (each gets its own dropout streams). State names: layers.N.* (each a
// TransformerEncoderLayer's names), then norm.weight, norm.bias.
#include <memory>
#include <vector>

#include "bend/nn/layer_norm.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/nn/transformer_encoder_layer.hpp"

namespace bend::nn {

class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayer& encoder_layer, std::int64_t num_layers,
                     std::shared_ptr<LayerNorm> norm = nullptr);
  TransformerEncoder(const TransformerEncoderLayer& encoder_layer, std::int64_t num_layers,
                     std::shared_ptr<LayerNorm> norm, Rng& rng);

  Tensor forward(const Tensor& src) override { return forward(src, EncoderMasks{}); }
  Tensor forward(const Tensor& src, const EncoderMasks& masks);
  std::string type_name() const override { return "TransformerEncoder"; }
  std::string describe() const override;
  std::int64_t num_layers() const { return static_cast<std::int64_t>(layer_list_.size()); }
  TransformerEncoderLayer& layer(std::int64_t i) { return *layer_list_.at(static_cast<std::size_t>(i)); }

  std::shared_ptr<Sequential> layers;  // only a container, named "layers" as PyTorch's ModuleList
  std::shared_ptr<LayerNorm> norm;     // null when not given

 private:
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layer_list_;
};

}  // namespace bend::nn
