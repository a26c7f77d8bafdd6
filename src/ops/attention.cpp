// scaled_dot_product_attention: the math path as one op, one (batch, head) at a time.
//   q [B, H, Lq, E]   k [B, H, Lk, E]   v [B, H, Lk, Ev]   mask broadcasts to [B, H, Lq, Lk]
//   forward, per head:  P = masked_softmax(scale·q·kᵀ)        (sgemm, then row by row in place)
//                       D = dropout(P) (training, p > 0)     out = D·v   [B, H, Lq, Ev]
//   backward, per head: dv = Dᵀ·dout;  dD = dout·vᵀ;  dP = dD ⊙ (D ≠ 0)/(1 - p);
//                       dS = P ⊙ (dP - Σ_j dP ⊙ P);  dq = scale·dS·k;  dk = scale·dSᵀ·q
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
#include "bend/parallel.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Below this many multiply-adds in all heads together, one thread does them all.
constexpr std::int64_t kMinAttentionWorkToSplit = std::int64_t{1} << 16;

void attention_sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                     float alpha, const float* a, const float* b, float beta, float* c) {
  const std::int64_t lda = transpose_a ? m : k, ldb = transpose_b ? k : n;
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(n));
}

struct AttentionDims {
  std::int64_t batch, heads, lq, lk, e, ev;
  std::int64_t count() const { return batch * heads; }
  std::int64_t work() const { return count() * lq * lk * (e + ev); }
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

// Entry: in = {q, k, v}; saved = {P, D (undefined without dropout)}; f = {scale, keep scale};
// i = {B, H, Lq, Lk}.
void attention_backward(TapeEntry& e) {
  const Tensor &q = e.in[0], &k = e.in[1], &v = e.in[2];
  const AttentionDims d{e.i[0], e.i[1], e.i[2], e.i[3], q.size(3), v.size(3)};
  const float scale = e.f[0], keep_scale = e.f[1];
  const bool dropped = e.saved[1].defined();
  // Taken in the order the heads write them (q, k, v), so that an input passed twice is written once and
  // then added to.
  const GradTarget gq = grad_target(q), gk = grad_target(k), gv = grad_target(v);
  if (!gq && !gk && !gv) return;
  const float* gy = output_grad(e);
  const float* probs = e.saved[0].data();
  const float* kept = dropped ? e.saved[1].data() : probs;
  const std::int64_t scores = d.lq * d.lk;
  const int parts = std::max(1, std::min(num_threads(), static_cast<int>(d.count())));
  Tensor scratch = Tensor::empty(Shape{parts, scores});  // dS of the head a part is working on
  for_each_head(d, [&](int part, std::int64_t n) {
    const float* p = probs + n * scores;
    const float* dp_kept = kept + n * scores;
    const float* dout = gy + n * d.lq * d.ev;
    const float* qn = q.data() + n * d.lq * d.e;
    const float* kn = k.data() + n * d.lk * d.e;
    const float* vn = v.data() + n * d.lk * d.ev;
    float* ds = scratch.data() + part * scores;
    if (gq || gk) {
      attention_sgemm(false, true, d.lq, d.lk, d.ev, 1.0f, dout, vn, 0.0f, ds);  // dD = dout·vᵀ
      if (dropped)
        for (std::int64_t j = 0; j < scores; ++j) ds[j] = dp_kept[j] != 0.0f ? ds[j] * keep_scale : 0.0f;
      detail::softmax_rows_backward(p, ds, ds, d.lq, d.lk, false);
      if (gq)
        attention_sgemm(false, false, d.lq, d.e, d.lk, scale, ds, kn, gq.is_zero ? 0.0f : 1.0f,
                        gq.data + n * d.lq * d.e);
      if (gk)
        attention_sgemm(true, false, d.lk, d.e, d.lq, scale, ds, qn, gk.is_zero ? 0.0f : 1.0f,
                        gk.data + n * d.lk * d.e);
    }
    if (gv)
      attention_sgemm(true, false, d.lk, d.ev, d.lq, 1.0f, dp_kept, dout, gv.is_zero ? 0.0f : 1.0f,
                      gv.data + n * d.lk * d.ev);
  });
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
  const float p_drop = options.dropout_p;
  if (!(p_drop >= 0.0f && p_drop <= 1.0f))
    throw ValueError(
        fmt::format("scaled_dot_product_attention: dropout_p must be in [0, 1], got {}", p_drop));
  const bool drop = options.training && p_drop > 0.0f;
  if (drop && !options.rng)
    throw ValueError("scaled_dot_product_attention: dropout needs an Rng (AttentionOptions::rng)");
  const float scale = options.scale ? *options.scale : 1.0f / std::sqrt(static_cast<float>(d.e));
  const detail::MaskView mask = detail::mask_view(options.attn_mask, Shape{d.batch, d.heads, d.lq, d.lk},
                                                  "scaled_dot_product_attention", "attn_mask");
  const std::int64_t scores = d.lq * d.lk;
  Tensor probs = Tensor::empty(Shape{d.batch, d.heads, d.lq, d.lk});
  Tensor kept = drop ? Tensor::empty(probs.shape()) : probs;
  Tensor out = Tensor::empty(Shape{d.batch, d.heads, d.lq, d.ev});
  const float keep_scale = p_drop < 1.0f ? 1.0f / (1.0f - p_drop) : 0.0f;
  const std::uint64_t seed = drop ? options.rng->next_u64() : 0;
  for_each_head(d, [&](int, std::int64_t n) {
    float* p = probs.data() + n * scores;
    attention_sgemm(false, true, d.lq, d.lk, d.e, scale, q.data() + n * d.lq * d.e, k.data() + n * d.lk * d.e,
                    0.0f, p);
    const std::int64_t b = n / d.heads, h = n % d.heads;
    detail::masked_softmax_rows(p, d.lq, d.lk, mask, b, h, 0, options.is_causal);
    float* pk = kept.data() + n * scores;
    if (drop) drop_head(p, pk, scores, p_drop, keep_scale, seed, n);
    attention_sgemm(false, false, d.lq, d.ev, d.lk, 1.0f, pk, v.data() + n * d.lk * d.ev, 0.0f,
                    out.data() + n * d.lq * d.ev);
  });
  if (TapeEntry* e = tape().record(out, &attention_backward, "scaled_dot_product_attention", {q, k, v})) {
    e->saved[0] = probs;
    if (drop) e->saved[1] = kept;
    e->f = {scale, keep_scale, 0.0f, 0.0f};
    e->i = {d.batch, d.heads, d.lq, d.lk};
  }
  if (options.weights) *options.weights = kept.detach();
  return out;
}

}  // namespace bend
