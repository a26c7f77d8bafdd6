// matmul: torch.matmul's products, one sgemm per matrix (or one in all), and backward side by side.
//   2-d:     A: [m, k] (or [k, m] when transpose_a)   B: [k, n] (or [n, k] when transpose_b)   C: [m, n]
//   batched: A: [*a, m, k]   B: [*b, k, n]   C: [broadcast(*a, *b), m, n]; a 1-d A is [1, k] and a 1-d B
//            is [k, 1], the 1 dropped from C.
#include <algorithm>
#include <array>
#include <string>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "gemm.hpp"

namespace bend {
namespace {

// --- the 2-d product ---

// Entry: in = {A, B}; i = {transpose_a, transpose_b, m, n}; f unused; k recovered from A.
void matmul_backward(TapeEntry& e) {
  const bool ta = e.i[0] != 0, tb = e.i[1] != 0;
  const std::int64_t m = e.i[2], n = e.i[3];
  const std::int64_t k = ta ? e.in[0].size(0) : e.in[0].size(1);
  const float* g = output_grad(e);  // [m, n]
  if (float* ga = grad_for_accumulation(e.in[0])) {
    if (!ta)  // dA[m,k] += G[m,n] · op(B)ᵀ
      detail::gemm(false, !tb, m, k, n, 1.0f, g, e.in[1].data(), 1.0f, ga);
    else  // A stored [k,m]: dA += op(B) · Gᵀ
      detail::gemm(tb, true, k, m, n, 1.0f, e.in[1].data(), g, 1.0f, ga);
  }
  if (float* gb = grad_for_accumulation(e.in[1])) {
    if (!tb)  // dB[k,n] += op(A)ᵀ · G
      detail::gemm(!ta, false, k, n, m, 1.0f, e.in[0].data(), g, 1.0f, gb);
    else  // B stored [n,k]: dB += Gᵀ · op(A)
      detail::gemm(true, ta, n, k, m, 1.0f, g, e.in[0].data(), 1.0f, gb);
  }
}

Tensor matmul_2d(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  const std::int64_t m = transpose_a ? a.size(1) : a.size(0);
  const std::int64_t k = transpose_a ? a.size(0) : a.size(1);
  const std::int64_t kb = transpose_b ? b.size(1) : b.size(0);
  const std::int64_t n = transpose_b ? b.size(0) : b.size(1);
  if (k != kb)
    throw ShapeError(fmt::format("matmul: {}{} x {}{}: inner dimensions {} and {} differ", a.shape().str(),
                                 transpose_a ? "ᵀ" : "", b.shape().str(), transpose_b ? "ᵀ" : "", k, kb));
  Tensor c = Tensor::empty(Shape{m, n});
  if (k == 0)
    c.fill_(0.0f);
  else
    detail::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c.data());
  if (TapeEntry* e = tape().record(c, &matmul_backward, "matmul", {a, b}))
    e->i = {transpose_a ? 1 : 0, transpose_b ? 1 : 0, m, n};
  return c;
}

// --- the batched product (and the 1-d cases) ---

using MatmulDims = std::array<std::int64_t, Shape::kMaxDims>;

// Where each batch's matrices are: computed from the shapes alone, so forward and backward agree.
struct BatchPlan {
  bool ta = false, tb = false;
  std::int64_t m = 0, k = 0, n = 0;
  int batch_ndim = 0;
  MatmulDims batch{};  // the broadcast batch dimensions
  MatmulDims a_stride{},
      b_stride{};            // floats between consecutive indices of each batch dimension (0: broadcast)
  std::int64_t batches = 1;  // product of batch
  std::int64_t a_count = 1, b_count = 1;  // distinct matrices in A and B
  Shape out;

  std::int64_t a_offset(std::int64_t batch_index) const { return offset(batch_index, a_stride); }
  std::int64_t b_offset(std::int64_t batch_index) const { return offset(batch_index, b_stride); }
  std::int64_t offset(std::int64_t index, const MatmulDims& stride) const {
    std::int64_t off = 0;
    for (int d = batch_ndim - 1; d >= 0; --d) {
      const auto du = static_cast<std::size_t>(d);
      off += (index % batch[du]) * stride[du];
      index /= batch[du];
    }
    return off;
  }
  // A's batches are stored one after another in batch order (none broadcast), so A reads as one
  // [batches·m, k] matrix; only without transpose_a.
  bool a_stacks() const { return !ta && a_count == batches; }
};

BatchPlan plan_batched(const Shape& as, const Shape& bs, bool ta, bool tb) {
  const auto fail = [&](const std::string& why) {
    return ShapeError(
        fmt::format("matmul: {}{} x {}{}: {}", as.str(), ta ? "ᵀ" : "", bs.str(), tb ? "ᵀ" : "", why));
  };
  if (as.ndim() == 0 || bs.ndim() == 0) throw fail("both operands need at least one dimension");
  if ((ta && as.ndim() == 1) || (tb && bs.ndim() == 1)) throw fail("a 1-d operand cannot be transposed");
  BatchPlan p;
  p.ta = ta;
  p.tb = tb;
  // The matrices: a 1-d A is the row [1, k], a 1-d B the column [k, 1].
  const int ar = as.ndim(), br = bs.ndim();
  const std::int64_t a_rows = ar == 1 ? 1 : as[ar - 2], a_cols = as[ar - 1];
  const std::int64_t b_rows = br == 1 ? bs[0] : bs[br - 2], b_cols = br == 1 ? 1 : bs[br - 1];
  p.m = ta ? a_cols : a_rows;
  p.k = ta ? a_rows : a_cols;
  const std::int64_t kb = tb ? b_cols : b_rows;
  p.n = tb ? b_rows : b_cols;
  if (p.k != kb) throw fail(fmt::format("inner dimensions {} and {} differ", p.k, kb));

  // Batch dimensions, aligned from the right and broadcast.
  const int a_batch = std::max(ar - 2, 0), b_batch = std::max(br - 2, 0);
  p.batch_ndim = std::max(a_batch, b_batch);
  const int out_ndim = p.batch_ndim + (ar > 1 ? 1 : 0) + (br > 1 ? 1 : 0);
  if (out_ndim > Shape::kMaxDims) throw fail(fmt::format("the result would have {} dimensions", out_ndim));
  std::int64_t a_step = a_rows * a_cols, b_step = b_rows * b_cols;
  for (int d = p.batch_ndim - 1; d >= 0; --d) {
    const int ia = d - (p.batch_ndim - a_batch), ib = d - (p.batch_ndim - b_batch);
    const std::int64_t da = ia >= 0 ? as[ia] : 1, db = ib >= 0 ? bs[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw fail(fmt::format("batch dimensions {} and {} cannot be broadcast", da, db));
    const auto du = static_cast<std::size_t>(d);
    p.batch[du] = da == 1 ? db : da;
    p.a_stride[du] = da == 1 ? 0 : a_step;
    p.b_stride[du] = db == 1 ? 0 : b_step;
    a_step *= da;
    b_step *= db;
    p.batches *= p.batch[du];
    p.a_count *= da;
    p.b_count *= db;
  }
  MatmulDims out{};
  int nd = 0;
  for (int d = 0; d < p.batch_ndim; ++d)
    out[static_cast<std::size_t>(nd++)] = p.batch[static_cast<std::size_t>(d)];
  if (ar > 1) out[static_cast<std::size_t>(nd++)] = p.m;
  if (br > 1) out[static_cast<std::size_t>(nd++)] = p.n;
  p.out = Shape(std::span<const std::int64_t>(out.data(), static_cast<std::size_t>(nd)));
  return p;
}

// Runs body(batch) for every batch: split over bend's threads when each product is too small for
// gemm to split itself but all of them together pay for the hand-off; in order otherwise. `parallel`
// false: the bodies write to shared memory and must not overlap.
template <class Body>
void for_each_batch(const BatchPlan& p, bool parallel, Body&& body) {
  const std::int64_t work = p.batches * p.m * p.n * p.k;
  if (parallel && p.batches > 1 && detail::gemm_parts(p.m, p.n, p.k) == 1 &&
      work >= (std::int64_t{1} << 18)) {
    parallel_for(static_cast<int>(std::min<std::int64_t>(num_threads(), p.batches)),
                 [&](int part, int parts) {
                   const auto [begin, end] = split_range(p.batches, part, parts, 1);
                   for (std::int64_t q = begin; q < end; ++q) body(q);
                 });
    return;
  }
  for (std::int64_t q = 0; q < p.batches; ++q) body(q);
}

// Entry: in = {A, B}; i = {transpose_a, transpose_b}; the plan is rebuilt from the shapes.
void batched_matmul_backward(TapeEntry& e) {
  const Tensor &a = e.in[0], &b = e.in[1];
  const BatchPlan p = plan_batched(a.shape(), b.shape(), e.i[0] != 0, e.i[1] != 0);
  const std::int64_t m = p.m, k = p.k, n = p.n;
  const bool ta = p.ta, tb = p.tb;
  const float* g = output_grad(e);  // [batches, m, n]
  const float *pa = a.data(), *pb = b.data();
  if (float* ga = grad_for_accumulation(a)) {
    if (p.a_stacks() && p.b_count == 1) {  // dA[batches·m, k] += G[batches·m, n] · op(B)ᵀ
      detail::gemm(false, !tb, p.batches * m, k, n, 1.0f, g, pb, 1.0f, ga);
    } else {
      // Each batch adds into its own A matrix unless A is broadcast (then they share it: in order).
      for_each_batch(p, p.a_count == p.batches, [&](std::int64_t q) {
        const float* gq = g + q * m * n;
        float* gaq = ga + p.a_offset(q);
        if (!ta)
          detail::gemm(false, !tb, m, k, n, 1.0f, gq, pb + p.b_offset(q), 1.0f, gaq);
        else
          detail::gemm(tb, true, k, m, n, 1.0f, pb + p.b_offset(q), gq, 1.0f, gaq);
      });
    }
  }
  if (float* gb = grad_for_accumulation(b)) {
    if (p.a_stacks() && p.b_count == 1) {  // one B for all batches: its gradient sums over them
      if (!tb)                             // dB[k, n] += A[batches·m, k]ᵀ · G[batches·m, n]
        detail::gemm(true, false, k, n, p.batches * m, 1.0f, pa, g, 1.0f, gb);
      else  // B stored [n, k]: dB += Gᵀ · A
        detail::gemm(true, false, n, k, p.batches * m, 1.0f, g, pa, 1.0f, gb);
    } else {
      for_each_batch(p, p.b_count == p.batches, [&](std::int64_t q) {
        const float* gq = g + q * m * n;
        const float* aq = pa + p.a_offset(q);
        float* gbq = gb + p.b_offset(q);
        if (!tb)
          detail::gemm(!ta, false, k, n, m, 1.0f, aq, gq, 1.0f, gbq);
        else
          detail::gemm(true, ta, n, k, m, 1.0f, gq, aq, 1.0f, gbq);
      });
    }
  }
}

Tensor matmul_batched(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const BatchPlan p = plan_batched(a.shape(), b.shape(), ta, tb);
  Tensor c = Tensor::empty(p.out);
  const std::int64_t m = p.m, k = p.k, n = p.n;
  float* pc = c.data();
  const float *pa = a.data(), *pb = b.data();
  if (k == 0) {
    c.fill_(0.0f);
  } else if (p.a_stacks() && p.b_count == 1) {
    // One B for every batch: A's batches stack into one [batches·m, k] product.
    detail::gemm(false, tb, p.batches * m, n, k, 1.0f, pa, pb, 0.0f, pc);
  } else {
    for_each_batch(p, true, [&](std::int64_t q) {
      detail::gemm(ta, tb, m, n, k, 1.0f, pa + p.a_offset(q), pb + p.b_offset(q), 0.0f, pc + q * m * n);
    });
  }
  if (TapeEntry* e = tape().record(c, &batched_matmul_backward, "matmul", {a, b}))
    e->i = {ta ? 1 : 0, tb ? 1 : 0, 0, 0};
  return c;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  if (a.ndim() == 2 && b.ndim() == 2) return matmul_2d(a, b, transpose_a, transpose_b);
  return matmul_batched(a, b, transpose_a, transpose_b);
}

}  // namespace bend
