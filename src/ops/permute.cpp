// permute and transpose(a, d0, d1) for any rank. bend's tensors are contiguous, so both copy:
//   a: [s0, s1, ..., s(r-1)]  ->  y: [s(p0), s(p1), ..., s(p(r-1))],  y[i0, ..., i(r-1)] = a[j] with
//   j_(p_k) = i_k.
// The backward walks the same index map the other way (the inverse permutation), adding y's gradient
// into a's.
#include <array>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

using Dims = std::array<std::int64_t, Shape::kMaxDims>;

// The permutation packed 4 bits a dimension into one integer, for the tape entry's i[0].
std::int64_t pack(const Dims& perm, int ndim) {
  std::int64_t packed = 0;
  for (int k = 0; k < ndim; ++k) packed |= perm[static_cast<std::size_t>(k)] << (4 * k);
  return packed;
}
Dims unpack(std::int64_t packed, int ndim) {
  Dims perm{};
  for (int k = 0; k < ndim; ++k) perm[static_cast<std::size_t>(k)] = (packed >> (4 * k)) & 0xF;
  return perm;
}

// Calls fn(out_index, in_index) for every element of the permuted output, in the output's row-major
// order. The innermost output dimension is a strided run through the input.
template <class Fn>
void for_each_permuted(const Shape& in, const Dims& perm, Fn&& fn) {
  const int nd = in.ndim();
  if (nd == 0) {
    fn(0, 0);
    return;
  }
  Dims in_stride{}, out_dims{}, stride{};  // stride[k]: input stride of output dimension k
  std::int64_t s = 1;
  for (int k = nd - 1; k >= 0; --k) {
    in_stride[static_cast<std::size_t>(k)] = s;
    s *= in[k];
  }
  for (int k = 0; k < nd; ++k) {
    const auto p = static_cast<std::size_t>(perm[static_cast<std::size_t>(k)]);
    out_dims[static_cast<std::size_t>(k)] = in[static_cast<int>(p)];
    stride[static_cast<std::size_t>(k)] = in_stride[p];
  }
  const std::int64_t total = in.numel();
  if (total == 0) return;
  const std::int64_t inner = out_dims[static_cast<std::size_t>(nd - 1)];
  const std::int64_t inner_stride = stride[static_cast<std::size_t>(nd - 1)];
  Dims counter{};
  std::int64_t base = 0;
  for (std::int64_t o = 0; o < total; o += inner) {
    for (std::int64_t k = 0; k < inner; ++k) fn(o + k, base + k * inner_stride);
    for (int d = nd - 2; d >= 0; --d) {
      const auto du = static_cast<std::size_t>(d);
      base += stride[du];
      if (++counter[du] < out_dims[du]) break;
      base -= stride[du] * out_dims[du];
      counter[du] = 0;
    }
  }
}

// Entry: in = {a}; i[0] = the packed permutation.
void permute_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float* gy = output_grad(e);
  const Shape& in = e.in[0].shape();
  for_each_permuted(in, unpack(e.i[0], in.ndim()), [&](std::int64_t o, std::int64_t i) { ga[i] += gy[o]; });
}

Tensor permute_impl(const Tensor& a, const Dims& perm) {
  const Shape& s = a.shape();
  Dims dims{};
  for (int k = 0; k < s.ndim(); ++k)
    dims[static_cast<std::size_t>(k)] = s[static_cast<int>(perm[static_cast<std::size_t>(k)])];
  Tensor y =
      Tensor::empty(Shape(std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(s.ndim()))));
  const float* pa = a.data();
  float* py = y.data();
  for_each_permuted(s, perm, [&](std::int64_t o, std::int64_t i) { py[o] = pa[i]; });
  if (TapeEntry* e = tape().record(y, &permute_backward, "permute", {a})) e->i[0] = pack(perm, s.ndim());
  return y;
}

}  // namespace

Tensor permute(const Tensor& a, std::span<const int> dims) {
  const Shape& s = a.shape();
  const int nd = s.ndim();
  const auto given = [&] { return fmt::format("[{}]", fmt::join(dims, ", ")); };
  if (static_cast<int>(dims.size()) != nd)
    throw ShapeError(fmt::format("permute: {} has {} dimensions but the order {} names {}", s.str(), nd,
                                 given(), dims.size()));
  Dims perm{};
  std::array<bool, Shape::kMaxDims> seen{};
  for (int k = 0; k < nd; ++k) {
    const int d = dims[static_cast<std::size_t>(k)];
    if (d < -nd || d >= nd)
      throw ShapeError(
          fmt::format("permute: dimension {} in {} is out of range for {}", d, given(), s.str()));
    const int normal = d < 0 ? d + nd : d;
    if (seen[static_cast<std::size_t>(normal)])
      throw ShapeError(fmt::format("permute: dimension {} appears twice in {}", normal, given()));
    seen[static_cast<std::size_t>(normal)] = true;
    perm[static_cast<std::size_t>(k)] = normal;
  }
  return permute_impl(a, perm);
}

Tensor permute(const Tensor& a, std::initializer_list<int> dims) {
  return permute(a, std::span<const int>(dims.begin(), dims.size()));
}

Tensor transpose(const Tensor& a, int dim0, int dim1) {
  const Shape& s = a.shape();
  const int nd = s.ndim();
  if (nd == 0 && (dim0 == 0 || dim0 == -1) && (dim1 == 0 || dim1 == -1)) return permute_impl(a, Dims{});
  const int d0 = s.normalize_dim(dim0), d1 = s.normalize_dim(dim1);
  Dims perm{};
  for (int k = 0; k < nd; ++k) perm[static_cast<std::size_t>(k)] = k;
  std::swap(perm[static_cast<std::size_t>(d0)], perm[static_cast<std::size_t>(d1)]);
  return permute_impl(a, perm);
}

}  // namespace bend
