// scaled_dot_product_attention: the math path as one op, one (batch, head) at a time.
//   q [B, H, Lq, E]   k [B, H, Lk, E]   v [B, H, Lk, Ev]   mask broadcasts to [B, H, Lq, Lk]
//   forward, per head:  P = masked_softmax(scale·q·kᵀ)        (sgemm, then row by row in place)
//                       D = dropout(P) (training, p > 0)     out = D·v   [B, H, Lq, Ev]
//   backward, per head: dv = Dᵀ·dout;  dD = dout·vᵀ;  dP = dD ⊙ (D ≠ 0)/(1 - p);
//                       dS = P ⊙ (dP - Σ_j dP ⊙ P);  dq = scale·dS·k;  dk = scale·dSᵀ·q
// packed_self_attention runs the same on the in-projection's output qkv [B, L, 3·H·E] as it stands: a
// head's q, k and v are E columns of it (leading dimension 3·H·E), and its output goes straight into its
// E columns of out [B, L, H·E]; the split into heads, the views and the merge (three copies forward, three
// backward, and a zero fill) are gone.
// Why fused: the [Lq, Lk] scores of a head stay in cache between the product, the softmax and the next
// product, and the tape holds one entry instead of six. Heads are independent, so threads take whole
// heads (each cblas_sgemm runs single-threaded inside its part). P (and D when dropout acts) are the only
// saved buffers; they come from bend's caches, so a steady step allocates nothing.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attention_mask.hpp"
#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/packed_attention.hpp"
#include "bend/parallel.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Below this many multiply-adds in all heads together, one thread does them all.
constexpr std::int64_t kMinAttentionWorkToSplit = std::int64_t{1} << 16;

void attention_sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                     float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                     float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

struct AttentionDims {
  std::int64_t batch, heads, lq, lk, e, ev;
  bool packed = false;  // q, k, v in one [B, L, 3·H·E] tensor, out [B, L, H·E] (packed_self_attention)
  std::int64_t count() const { return batch * heads; }
  std::int64_t work() const { return count() * lq * lk * (e + ev); }
  // Leading dimensions and the offsets of head n's first row in q, k, v (their own tensors, or the
  // packed one) and in out.
  std::int64_t ldq() const { return packed ? 3 * heads * e : e; }
  std::int64_t ldv() const { return packed ? 3 * heads * e : ev; }
  std::int64_t ldo() const { return packed ? heads * ev : ev; }
  std::int64_t q_at(std::int64_t n) const {
    return packed ? (n / heads) * lq * ldq() + (n % heads) * e : n * lq * e;
  }
  std::int64_t k_at(std::int64_t n) const { return packed ? q_at(n) + heads * e : n * lk * e; }
  std::int64_t v_at(std::int64_t n) const { return packed ? q_at(n) + 2 * heads * e : n * lk * ev; }
  std::int64_t o_at(std::int64_t n) const {
    return packed ? (n / heads) * lq * ldo() + (n % heads) * ev : n * lq * ev;
  }
};

// Runs body(head) for every head in [0, B·H), split across threads when the work pays for it.
template <class Body>
void for_each_head(const AttentionDims& d, Body&& body) {
  const int parts = d.work() < kMinAttentionWorkToSplit
                        ? 1
                        : static_cast<int>(std::min<std::int64_t>(num_threads(), d.count()));
  parallel_for(parts, [&](int part, int n_parts) {
    const auto [begin, end] = split_range(d.count(), part, n_parts, 1);
    for (std::int64_t n = begin; n < end; ++n) body(part, n);
  });
}

// The dropout mask of head n: its own stream seeded from the call's draw, so that the masks do not
// depend on which thread runs which head.
void drop_head(const float* p, float* dropped, std::int64_t count, float drop_p, float keep_scale,
               std::uint64_t seed, std::int64_t head) {
  Rng rng(seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(head + 1));
  for (std::int64_t j = 0; j < count; ++j) dropped[j] = rng.uniform() >= drop_p ? p[j] * keep_scale : 0.0f;
}

// Entry: in = {q, k, v} (packed: {qkv}); saved = {P, D (undefined without dropout)}; f = {scale, keep
// scale, packed}; i = {B, H, Lq, Lk}.
void attention_backward(TapeEntry& e) {
  const bool packed = e.f[2] != 0.0f;
  const Tensor &q = e.in[0], &k = packed ? e.in[0] : e.in[1], &v = packed ? e.in[0] : e.in[2];
  const std::int64_t heads = e.i[1];
  const std::int64_t width = packed ? q.size(-1) / (3 * heads) : q.size(3);
  AttentionDims d{e.i[0], heads, e.i[2], e.i[3], width, packed ? width : v.size(3)};
  d.packed = packed;
  const float scale = e.f[0], keep_scale = e.f[1];
  const bool dropped = e.saved[1].defined();
  // Taken in the order the heads write them (q, k, v), so that an input passed twice is written once and
  // then added to. Packed, every head writes its own columns of the one gradient.
  const GradTarget gq = grad_target(q), gk = packed ? gq : grad_target(k), gv = packed ? gq : grad_target(v);
  if (!gq && !gk && !gv) return;
  const float* gy = output_grad(e);
  const float* probs = e.saved[0].data();
  const float* kept = dropped ? e.saved[1].data() : probs;
  const std::int64_t scores = d.lq * d.lk;
  const std::int64_t ldq = d.ldq(), ldv = d.ldv(), ldo = d.ldo();
  const int parts = std::max(1, std::min(num_threads(), static_cast<int>(d.count())));
  Tensor scratch = Tensor::empty(Shape{parts, scores});  // dS of the head a part is working on
  for_each_head(d, [&](int part, std::int64_t n) {
    const float* p = probs + n * scores;
    const float* dp_kept = kept + n * scores;
    const float* dout = gy + d.o_at(n);
    const float* qn = q.data() + d.q_at(n);
    const float* kn = k.data() + d.k_at(n);
    const float* vn = v.data() + d.v_at(n);
    float* ds = scratch.data() + part * scores;
    if (gq || gk) {
      attention_sgemm(false, true, d.lq, d.lk, d.ev, 1.0f, dout, ldo, vn, ldv, 0.0f, ds,
                      d.lk);  // dD = dout·vᵀ
      if (dropped)
        for (std::int64_t j = 0; j < scores; ++j) ds[j] = dp_kept[j] != 0.0f ? ds[j] * keep_scale : 0.0f;
      detail::softmax_rows_backward(p, ds, ds, d.lq, d.lk, false);
      if (gq)
        attention_sgemm(false, false, d.lq, d.e, d.lk, scale, ds, d.lk, kn, ldq, gq.is_zero ? 0.0f : 1.0f,
                        gq.data + d.q_at(n), ldq);
      if (gk)
        attention_sgemm(true, false, d.lk, d.e, d.lq, scale, ds, d.lk, qn, ldq, gk.is_zero ? 0.0f : 1.0f,
                        gk.data + d.k_at(n), ldq);
    }
    if (gv)
      attention_sgemm(true, false, d.lk, d.ev, d.lq, 1.0f, dp_kept, d.lk, dout, ldo, gv.is_zero ? 0.0f : 1.0f,
                      gv.data + d.v_at(n), ldv);
  });
}

// The forward of both ops: out (allocated by the caller, laid out as d says) from q, k, v; records the
// tape entry with `inputs`.
Tensor attention_forward(const AttentionDims& d, const float* qb, const float* kb, const float* vb,
                         Tensor out, const AttentionOptions& options, const char* op,
                         std::initializer_list<Tensor> inputs) {
  const float p_drop = options.dropout_p;
  if (!(p_drop >= 0.0f && p_drop <= 1.0f))
    throw ValueError(fmt::format("{}: dropout_p must be in [0, 1], got {}", op, p_drop));
  const bool drop = options.training && p_drop > 0.0f;
  if (drop && !options.rng)
    throw ValueError(fmt::format("{}: dropout needs an Rng (AttentionOptions::rng)", op));
  const float scale = options.scale ? *options.scale : 1.0f / std::sqrt(static_cast<float>(d.e));
  const detail::MaskView mask =
      detail::mask_view(options.attn_mask, Shape{d.batch, d.heads, d.lq, d.lk}, op, "attn_mask");
  const std::int64_t scores = d.lq * d.lk;
  const std::int64_t ldq = d.ldq(), ldv = d.ldv(), ldo = d.ldo();
  Tensor probs = Tensor::empty(Shape{d.batch, d.heads, d.lq, d.lk});
  Tensor kept = drop ? Tensor::empty(probs.shape()) : probs;
  const float keep_scale = p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f;
  const std::uint64_t seed = drop ? options.rng->next_u64() : 0;
  float* po = out.data();
  for_each_head(d, [&](int, std::int64_t n) {
    float* p = probs.data() + n * scores;
    attention_sgemm(false, true, d.lq, d.lk, d.e, scale, qb + d.q_at(n), ldq, kb + d.k_at(n), ldq, 0.0f, p,
                    d.lk);
    const std::int64_t b = n / d.heads, h = n % d.heads;
    detail::masked_softmax_rows(p, d.lq, d.lk, mask, b, h, 0, options.is_causal);
    float* pk = kept.data() + n * scores;
    if (drop) drop_head(p, pk, scores, p_drop, keep_scale, seed, n);
    attention_sgemm(false, false, d.lq, d.ev, d.lk, 1.0f, pk, d.lk, vb + d.v_at(n), ldv, 0.0f, po + d.o_at(n),
                    ldo);
  });
  if (TapeEntry* e = tape().record(out, &attention_backward, op, inputs)) {
    e->saved[0] = probs;
    if (drop) e->saved[1] = kept;
    e->f = {scale, keep_scale, d.packed ? 1.0f : 0.0f, 0.0f};
    e->i = {d.batch, d.heads, d.lq, d.lk};
  }
  if (options.weights) *options.weights = kept.detach();
  return out;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const bool fits = q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4 && k.size(0) == q.size(0) &&
                    v.size(0) == q.size(0) && k.size(1) == q.size(1) && v.size(1) == q.size(1) &&
                    k.size(3) == q.size(3) && v.size(2) == k.size(2);
  if (!fits)
    throw ShapeError(fmt::format(
        "scaled_dot_product_attention: q {}, k {}, v {} do not fit q [B, H, Lq, E], k [B, H, Lk, E], "
        "v [B, H, Lk, Ev]",
        q.shape().str(), k.shape().str(), v.shape().str()));
  const AttentionDims d{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
  return attention_forward(d, q.data(), k.data(), v.data(),
                           Tensor::empty(Shape{d.batch, d.heads, d.lq, d.ev}), options,
                           "scaled_dot_product_attention", {q, k, v});
}

Tensor packed_self_attention(const Tensor& qkv, std::int64_t heads, const AttentionOptions& options) {
  if (qkv.ndim() != 3 || heads <= 0 || qkv.size(2) % (3 * heads) != 0)
    throw ShapeError(fmt::format("packed_self_attention: qkv {} is not [B, L, 3·{}·E] ({} heads)",
                                 qkv.shape().str(), heads, heads));
  const std::int64_t width = qkv.size(2) / (3 * heads);
  AttentionDims d{qkv.size(0), heads, qkv.size(1), qkv.size(1), width, width};
  d.packed = true;
  return attention_forward(d, qkv.data(), qkv.data(), qkv.data(),
                           Tensor::empty(Shape{d.batch, d.lq, heads * width}), options,
                           "packed_self_attention", {qkv});
}

}  // namespace bend
