// MultiheadAttention: in-projection, heads, bend::scaled_dot_product_attention, out-projection.
//   query [B, L, E], key and value [B, S, E] (batch_first; [L, B, E] otherwise; unbatched [L, E])
//   -> output like query, weights [B, L, S] (averaged) or [B, H, L, S]
#include "bend/nn/multihead_attention.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/init.hpp"
#include "bend/packed_attention.hpp"

namespace bend::nn {

MultiheadAttention::MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout,
                                       bool bias, bool batch_first)
    : MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first, default_rng()) {}

MultiheadAttention::MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout,
                                       bool bias, bool batch_first, Rng& rng)
    : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(dropout), batch_first_(batch_first) {
  if (embed_dim <= 0 || num_heads <= 0)
    throw ValueError(
        fmt::format("MultiheadAttention: embed_dim and num_heads must be positive, got embed_dim={} "
                    "num_heads={}",
                    embed_dim, num_heads));
  if (embed_dim % num_heads != 0)
    throw ValueError(
        fmt::format("MultiheadAttention(embed_dim={}, num_heads={}): embed_dim must be divisible by "
                    "num_heads",
                    embed_dim, num_heads));
  if (!(dropout >= 0.0f && dropout <= 1.0f))
    throw ValueError(fmt::format("MultiheadAttention: dropout must be in [0, 1], got {}", dropout));
  in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * embed_dim, embed_dim}));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias, rng));
  init::xavier_uniform_(in_proj_weight, rng);
  if (bias) out_proj->bias.fill_(0.0f);
  rng_ = std::make_shared<Rng>(rng.next_u64());
}

std::string MultiheadAttention::describe() const {
  return fmt::format("MultiheadAttention(embed_dim={}, num_heads={}, dropout={}, bias={}, batch_first={})",
                     embed_dim_, num_heads_, dropout_, in_proj_bias.defined() ? "True" : "False",
                     batch_first_ ? "True" : "False");
}

Tensor MultiheadAttention::forward(const Tensor& x) {
  AttentionCall call;
  call.need_weights = false;
  return forward(x, x, x, call).output;
}

namespace {

// a view of a constant mask with another shape (masks carry no gradient)
Tensor view_as(const Tensor& mask, const Shape& shape) {
  Tensor v = mask.detach();
  v.impl()->shape = shape;
  return v;
}

// The additive value of one mask element.
float additive(float v, MaskType type) {
  if (type == MaskType::Additive) return v;
  return v != 0.0f ? -std::numeric_limits<float>::infinity() : 0.0f;
}

}  // namespace

AttentionMask MultiheadAttention::combined_mask(const AttentionCall& call, std::int64_t batch,
                                                std::int64_t lq, std::int64_t lk, const Tensor& query,
                                                const Tensor& key) const {
  const bool unbatched = query.ndim() == 2;
  const std::int64_t heads = num_heads_;
  const auto where = [&] {
    return fmt::format("MultiheadAttention(embed_dim={}, num_heads={})", embed_dim_, num_heads_);
  };
  const AttentionMask& am = call.attn_mask;
  const AttentionMask& kpm = call.key_padding_mask;
  bool per_head = false;
  if (am.defined()) {
    const Shape& s = am.mask.shape();
    const Shape per_batch_head = unbatched ? Shape{heads, lq, lk} : Shape{batch * heads, lq, lk};
    per_head = s == per_batch_head;
    if (!(s == Shape{lq, lk}) && !per_head)
      throw ShapeError(fmt::format("{}: attn_mask {} does not fit query {} and key {}: expected {} or {}",
                                   where(), s.str(), query.shape().str(), key.shape().str(),
                                   Shape{lq, lk}.str(), per_batch_head.str()));
  }
  if (kpm.defined()) {
    const Shape expected = unbatched ? Shape{lk} : Shape{batch, lk};
    if (!(kpm.mask.shape() == expected))
      throw ShapeError(fmt::format("{}: key_padding_mask {} does not fit key {}: expected {}", where(),
                                   kpm.mask.shape().str(), key.shape().str(), expected.str()));
  }
  for (const AttentionMask* m : {&am, &kpm})
    if (m->defined() && m->type == MaskType::Boolean)
      for (const float v : m->mask.span())
        if (v != 0.0f && v != 1.0f)
          throw ValueError(
              fmt::format("{}: boolean {} holds {}; a boolean mask holds only 0 and 1 (1 = masked)", where(),
                          m == &am ? "attn_mask" : "key_padding_mask", v));
  if (!kpm.defined()) {
    if (!am.defined() || !per_head) return am;
    return {view_as(am.mask, Shape{batch, heads, lq, lk}), am.type};
  }
  if (!am.defined()) return {view_as(kpm.mask, Shape{batch, 1, 1, lk}), kpm.type};
  // Both: one additive mask [B, H or 1, L, S] (as PyTorch 1.13 merges them).
  const std::int64_t mask_heads = per_head ? heads : 1;
  Tensor merged = Tensor::empty(Shape{batch, mask_heads, lq, lk});
  const float* pa = am.mask.data();
  const float* pk = kpm.mask.data();
  float* pm = merged.data();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t h = 0; h < mask_heads; ++h)
      for (std::int64_t i = 0; i < lq; ++i) {
        const float* arow = pa + ((per_head ? b * heads + h : 0) * lq + i) * lk;
        float* out = pm + ((b * mask_heads + h) * lq + i) * lk;
        for (std::int64_t j = 0; j < lk; ++j)
          out[j] = additive(arow[j], am.type) + additive(pk[b * lk + j], kpm.type);
      }
  return {merged, MaskType::Additive};
}

MultiheadAttention::Output MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                                       const Tensor& value, const AttentionCall& call) {
  const std::int64_t e = embed_dim_, heads = num_heads_;
  const bool unbatched = query.ndim() == 2;
  const bool fits = (query.ndim() == 2 || query.ndim() == 3) && key.ndim() == query.ndim() &&
                    value.shape() == key.shape() && query.size(-1) == e && key.size(-1) == e &&
                    (unbatched || query.size(batch_first_ ? 0 : 1) == key.size(batch_first_ ? 0 : 1));
  if (!fits)
    throw ShapeError(
        fmt::format("MultiheadAttention(embed_dim={}, num_heads={}): query {}, key {}, value {} do not "
                    "fit {} (key and value alike, E = {})",
                    e, heads, query.shape().str(), key.shape().str(), value.shape().str(),
                    batch_first_ ? "[B, L, E] (batch_first)" : "[L, B, E]", e));
  const bool seq_first = !batch_first_ && !unbatched;
  const int batch_dim = seq_first ? 1 : 0, seq_dim = seq_first ? 0 : 1;
  // A view of an input that requires grad must be recorded: reshape does that.
  const auto batched_input = [&](const Tensor& x) {
    return unbatched ? reshape(x, Shape{1, x.size(0), e}) : x;
  };
  const Tensor q_in = batched_input(query);
  const std::int64_t batch = q_in.size(batch_dim), lq = q_in.size(seq_dim);
  const std::int64_t lk = unbatched ? key.size(0) : key.size(seq_dim);

  Tensor weights;
  AttentionOptions options;
  options.attn_mask = combined_mask(call, batch, lq, lk, query, key);
  options.dropout_p = dropout_;
  options.is_causal = call.is_causal;
  options.training = is_training();
  options.rng = rng_.get();
  options.weights = call.need_weights ? &weights : nullptr;
  const bool self = query.same_as(key) && key.same_as(value);
  Tensor q, k, v, merged;
  if (self && !seq_first) {  // the heads read and write the packed projection in place
    merged = packed_self_attention(linear(q_in, in_proj_weight, in_proj_bias), heads, options);
  } else if (self) {
    const Tensor packed = split_heads(linear(q_in, in_proj_weight, in_proj_bias), 3, heads, seq_first);
    q = select_first(packed, 0);
    k = select_first(packed, 1);
    v = select_first(packed, 2);
  } else {
    const auto project = [&](const Tensor& x, std::int64_t part) {
      const Tensor w = narrow(in_proj_weight, 0, part * e, e);
      const Tensor b = in_proj_bias.defined() ? narrow(in_proj_bias, 0, part * e, e) : Tensor();
      return select_first(split_heads(linear(x, w, b), 1, heads, seq_first), 0);
    };
    q = project(q_in, 0);
    k = project(batched_input(key), 1);
    v = project(batched_input(value), 2);
  }
  if (!merged.defined()) merged = merge_heads(scaled_dot_product_attention(q, k, v, options), seq_first);
  Tensor out = out_proj->forward(merged);
  if (unbatched) out = reshape(out, Shape{lq, e});

  Output result{out, {}};
  if (call.need_weights) {
    if (call.average_attn_weights) {
      Tensor mean = Tensor::zeros(unbatched ? Shape{lq, lk} : Shape{batch, lq, lk});
      const float* pw = weights.data();
      float* pm = mean.data();
      const std::int64_t per_head = lq * lk;
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t h = 0; h < heads; ++h)
          for (std::int64_t j = 0; j < per_head; ++j)
            pm[b * per_head + j] += pw[(b * heads + h) * per_head + j];
      for (float& x : mean.span()) x /= static_cast<float>(heads);  // PyTorch: sum(dim=1) / num_heads
      result.weights = mean;
    } else {
      Tensor copy = Tensor::empty(unbatched ? Shape{heads, lq, lk} : weights.shape());
      copy.copy_from(weights);
      result.weights = copy;
    }
  }
  return result;
}

}  // namespace bend::nn
