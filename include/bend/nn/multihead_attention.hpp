#pragma once
// MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first), as torch.nn.MultiheadAttention
// (PyTorch 1.13) with kdim = vdim = embed_dim and no bias_k/bias_v:
//   q, k, v = query·W_qᵀ + b_q, key·W_kᵀ + b_k, value·W_vᵀ + b_v   (W_q, W_k, W_v: the thirds of
//   in_proj_weight) each cut into num_heads heads of embed_dim / num_heads; out = out_proj(concat_h
//   attention_h(q, k, v))
// Parameters, in PyTorch's state_dict order: in_proj_weight [3E, E], in_proj_bias [3E], out_proj.weight
// [E, E], out_proj.bias [E]. Init as PyTorch's: xavier_uniform_ in_proj_weight, zero in_proj_bias and
// out_proj.bias, out_proj.weight as Linear's default.
//
// Inputs are [B, L, E] with batch_first (the default here, unlike PyTorch), [L, B, E] without, or unbatched
// [L, E]. Self-attention (query, key and value the same tensor) runs one packed in-projection.
//
// Masks (constants, no gradient; see bend::AttentionMask for the Boolean convention: 1 = masked out):
//   attn_mask        [L, S] or [B·num_heads, L, S], additive or boolean
//   key_padding_mask [B, S] (unbatched: [S]), additive or boolean
//   is_causal        masks j > i (PyTorch 2's meaning), with or without attn_mask
// A row with every key masked gives NaN, as in PyTorch. need_weights returns the attention weights (after
// dropout, as PyTorch 1.13's), averaged over heads ([B, L, S]) unless average_attn_weights is false
// ([B, num_heads, L, S]); unlike PyTorch's they carry no gradient.
#include <memory>

#include "bend/nn/linear.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

struct AttentionCall {
  AttentionMask key_padding_mask{};
  bool need_weights = true;
  AttentionMask attn_mask{};
  bool average_attn_weights = true;
  bool is_causal = false;
};

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout = 0.0f, bool bias = true,
                     bool batch_first = true);
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout, bool bias,
                     bool batch_first, Rng& rng);

  struct Output {
    Tensor output;   // like query
    Tensor weights;  // undefined unless need_weights
  };
  // PyTorch's forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
  // is_causal).
  Output forward(const Tensor& query, const Tensor& key, const Tensor& value, const AttentionCall& call = {});
  // Self-attention without masks or weights: forward(x, x, x, {.need_weights = false}).output.
  Tensor forward(const Tensor& x) override;

  std::string type_name() const override { return "MultiheadAttention"; }
  std::string describe() const override;  // PyTorch's repr shows only out_proj; this names the sizes
  std::int64_t embed_dim() const { return embed_dim_; }
  std::int64_t num_heads() const { return num_heads_; }
  float dropout() const { return dropout_; }
  bool batch_first() const { return batch_first_; }
  Rng& rng() { return *rng_; }  // the attention-dropout stream (for checkpoints and tests)

  Tensor in_proj_weight, in_proj_bias;  // in_proj_bias undefined when bias = false
  std::shared_ptr<Linear> out_proj;

 private:
  std::int64_t embed_dim_, num_heads_;
  float dropout_;
  bool batch_first_;
  std::shared_ptr<Rng> rng_;
  AttentionMask combined_mask(const AttentionCall& call, std::int64_t batch, std::int64_t lq, std::int64_t lk,
                              const Tensor& query, const Tensor& key) const;
};

}  // namespace bend::nn
