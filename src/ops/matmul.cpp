// matmul: C = op(A) · op(B) for 2-d tensors, one sgemm forward and one per input backward.
//   A: [m, k] (or [k, m] when transpose_a)   B: [k, n] (or [n, k] when transpose_b)   C: [m, n]
#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "gemm.hpp"

namespace bend {
namespace {

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

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  if (a.ndim() != 2 || b.ndim() != 2)
    throw ShapeError(
        fmt::format("matmul: needs 2-d tensors, got {} and {}", a.shape().str(), b.shape().str()));
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

}  // namespace bend
