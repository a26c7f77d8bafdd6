#pragma once
// packed_self_attention: self-attention on an in-projection's packed output, with the heads merged.
//   qkv [B, L, 3·H·E] -> [B, L, H·E]
// Equal to merge_heads(scaled_dot_product_attention(q, k, v, options)) with q, k, v the select_first
// views of split_heads(qkv, 3, H) (bend/ops.hpp), but without those copies: each head's products read
// its q, k and v columns of qkv in place and write its columns of the result. options as for
// scaled_dot_product_attention; its weights are [B, H, L, L]. MultiheadAttention (batch_first
// self-attention) and GPT's CausalSelfAttention run on it.
#include <cstdint>

#include "bend/ops.hpp"

namespace bend {

Tensor packed_self_attention(const Tensor& qkv, std::int64_t heads, const AttentionOptions& options = {});

}  // namespace bend
