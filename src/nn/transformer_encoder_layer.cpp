// TransformerEncoderLayer: self-attention and feed-forward blocks with residuals and LayerNorms.
//   src [B, L, d_model] (batch_first; [L, B, d_model] otherwise; unbatched [L, d_model]) -> same shape
#include "bend/nn/transformer_encoder_layer.hpp"

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"

namespace bend::nn {

TransformerEncoderLayer::TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead,
                                                 std::int64_t dim_feedforward, float dropout_p,
                                                 std::string activation_name, float layer_norm_eps,
                                                 bool batch_first, bool norm_first)
    : TransformerEncoderLayer(
          TransformerEncoderLayerConfig{d_model, nhead, dim_feedforward, dropout_p,
                                        std::move(activation_name), layer_norm_eps, batch_first, norm_first},
          default_rng()) {}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerConfig& config, Rng& rng)
    : config_(config) {
  const auto& c = config_;
  if (c.d_model <= 0 || c.nhead <= 0 || c.dim_feedforward <= 0)
    throw ValueError(
        fmt::format("TransformerEncoderLayer: d_model, nhead and dim_feedforward must be positive, "
                    "got {}, {}, {}",
                    c.d_model, c.nhead, c.dim_feedforward));
  if (c.d_model % c.nhead != 0)
    throw ValueError(
        fmt::format("TransformerEncoderLayer(d_model={}, nhead={}): d_model must be divisible by nhead",
                    c.d_model, c.nhead));
  gated_ = c.activation == "swiglu";
  const ActivationInfo& info = bend::activation(gated_ ? "silu" : c.activation);  // throws on an unknown name
  // PyTorch's registration order: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(c.d_model, c.nhead, c.dropout,
                                                                                true, c.batch_first, rng));
  linear1 = register_module(
      "linear1",
      std::make_shared<Linear>(c.d_model, gated_ ? 2 * c.dim_feedforward : c.dim_feedforward, true, rng));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  linear2 = register_module("linear2", std::make_shared<Linear>(c.dim_feedforward, c.d_model, true, rng));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model, c.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  activation = activation_module(info);
  register_module("activation", activation);
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const EncoderMasks& masks) {
  AttentionCall call;
  call.attn_mask = masks.src_mask;
  call.key_padding_mask = masks.src_key_padding_mask;
  call.is_causal = masks.is_causal;
  call.need_weights = false;
  return dropout1->forward(self_attn->forward(x, x, x, call).output);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) {
  Tensor hidden = linear1->forward(x);
  if (gated_) {
    const std::int64_t ff = config_.dim_feedforward;
    const Tensor gate = narrow(hidden, -1, 0, ff);
    const Tensor gated = activation->forward(gate);
    if (feed_forward_probe) feed_forward_probe(gate, gated);
    hidden = gated * narrow(hidden, -1, ff, ff);
  } else {
    const Tensor pre = hidden;
    hidden = activation->forward(hidden);
    if (feed_forward_probe) feed_forward_probe(pre, hidden);
  }
  return dropout2->forward(linear2->forward(dropout->forward(hidden)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const EncoderMasks& masks) {
  if (src.ndim() < 2 || src.size(-1) != config_.d_model)
    throw ShapeError(fmt::format("TransformerEncoderLayer(d_model={}, nhead={}): src {} is not {}",
                                 config_.d_model, config_.nhead, src.shape().str(),
                                 config_.batch_first ? "[B, L, d_model] (batch_first)" : "[L, B, d_model]"));
  if (config_.norm_first) {
    Tensor x = src + self_attention_block(norm1->forward(src), masks);
    return x + feed_forward_block(norm2->forward(x));
  }
  Tensor x = norm1->forward(src + self_attention_block(src, masks));
  return norm2->forward(x + feed_forward_block(x));
}

std::string TransformerEncoderLayer::describe() const {
  const auto& c = config_;
  return fmt::format(
      "TransformerEncoderLayer(d_model={}, nhead={}, dim_feedforward={}, dropout={}, "
      "activation={}, layer_norm_eps={}, batch_first={}, norm_first={})",
      c.d_model, c.nhead, c.dim_feedforward, c.dropout, c.activation, c.layer_norm_eps,
      c.batch_first ? "True" : "False", c.norm_first ? "True" : "False");
}

}  // namespace bend::nn
