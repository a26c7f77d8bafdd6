#pragma once
// TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
// norm_first), as torch.nn.TransformerEncoderLayer (PyTorch 1.13), batch_first by default:
//   norm_first = false:  x = norm1(x + dropout1(self_attn(x)));  x = norm2(x + dropout2(ff(x)))
//   norm_first = true:   x = x + dropout1(self_attn(norm1(x)));  x = x + dropout2(ff(norm2(x)))
//   ff(x) = linear2(dropout(activation(linear1(x))))
// State names, in PyTorch's order: self_attn.in_proj_weight, self_attn.in_proj_bias,
// self_attn.out_proj.weight, self_attn.out_proj.bias, linear1.weight, linear1.bias, linear2.weight,
// linear2.bias, norm1.weight, norm1.bias, norm2.weight, norm2.bias (dropout, dropout1, dropout2 and
// activation hold no state; a learnable activation such as prelu adds activation.weight, as a PyTorch module
// passed as activation would).
//
// activation: any name of bend's activation table with PyTorch's defaults ("relu", "gelu", "silu", ...), or
// "swiglu", the gated feed-forward block:
//   linear1: d_model -> 2·dim_feedforward;  gate, value = the two halves of linear1(x) (gate first);
//   ff(x) = linear2(dropout(silu(gate) ⊙ value)),  linear2: dim_feedforward -> d_model
// so the names stay linear1/linear2 (linear1.weight is [2·dim_feedforward, d_model]). In PyTorch the same
// module is a TransformerEncoderLayer whose linear1 is nn.Linear(d_model, 2 * dim_feedforward) and whose
// _ff_block is
//   gate, value = self.linear1(x).chunk(2, dim=-1)
//   return self.dropout2(self.linear2(self.dropout(F.silu(gate) * value)))
#include <functional>
#include <memory>
#include <string>

#include "bend/nn/dropout.hpp"
#include "bend/nn/layer_norm.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/multihead_attention.hpp"

namespace bend::nn {

struct TransformerEncoderLayerConfig {
  std::int64_t d_model = 0, nhead = 0, dim_feedforward = 2048;
  float dropout = 0.1f;
  std::string activation = "relu";
  float layer_norm_eps = 1e-5f;
  bool batch_first = true;
  bool norm_first = false;
};

// The masks of an encoder call: src_mask (attn_mask), src_key_padding_mask, is_causal.
struct EncoderMasks {
  AttentionMask src_mask{};
  AttentionMask src_key_padding_mask{};
  bool is_causal = false;
};

class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward = 2048,
                          float dropout = 0.1f, std::string activation = "relu", float layer_norm_eps = 1e-5f,
                          bool batch_first = true, bool norm_first = false);
  TransformerEncoderLayer(const TransformerEncoderLayerConfig& config, Rng& rng);

  Tensor forward(const Tensor& src) override { return forward(src, EncoderMasks{}); }
  Tensor forward(const Tensor& src, const EncoderMasks& masks);
  std::string type_name() const override { return "TransformerEncoderLayer"; }
  std::string describe() const override;
  const TransformerEncoderLayerConfig& config() const { return config_; }
  bool gated() const { return gated_; }

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Module> activation;  // the table entry's module (SiLU for swiglu)
  // When set, each forward calls it with the feed-forward activation's input [*, dim_feedforward] (swiglu:
  // the gate half) and output, before the rest of the block: how the diagnostics (dead units,
  // saturation) see the activations inside the block.
  std::function<void(const Tensor& pre, const Tensor& post)> feed_forward_probe;

 private:
  TransformerEncoderLayerConfig config_;
  bool gated_ = false;
  Tensor self_attention_block(const Tensor& x, const EncoderMasks& masks);
  Tensor feed_forward_block(const Tensor& x);
};

}  // namespace bend::nn
