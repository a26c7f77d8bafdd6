// Shape ops: reshape (a view; one size may be -1, inferred), 2-d transpose, clone, concat, narrow and split
// along a dimension.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

// Adds the gradient of a same-sized output into in[0]'s gradient (reshape, clone).
void copy_grad_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float* gy = output_grad(e);
  const std::int64_t n = e.out.numel();
  for (std::int64_t k = 0; k < n; ++k) ga[k] += gy[k];
}

// Entry: in = {a [r, c]}; out [c, r].
void transpose_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const std::int64_t rows = e.in[0].size(0), cols = e.in[0].size(1);
  const float* gy = output_grad(e);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) ga[r * cols + c] += gy[c * rows + r];
}

// The [outer, D, inner] view of a shape around dimension d.
struct Around {
  std::int64_t outer = 1, inner = 1;
};
Around around(const Shape& s, int d) {
  Around a;
  for (int k = 0; k < d; ++k) a.outer *= s[k];
  for (int k = d + 1; k < s.ndim(); ++k) a.inner *= s[k];
  return a;
}

// Entry: in = {part}; out = the whole (concat) or the piece (split); i = {outer, inner, offset along D,
// D of the whole}. Concat and split move the same blocks in opposite directions.
void concat_part_backward(TapeEntry& e) {
  float* gp = grad_for_accumulation(e.in[0]);
  if (!gp) return;
  const std::int64_t outer = e.i[0], inner = e.i[1], offset = e.i[2], whole = e.i[3];
  const std::int64_t part = e.in[0].numel() / (outer * inner);
  const float* gy = output_grad(e);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < part * inner; ++k)
      gp[o * part * inner + k] += gy[(o * whole + offset) * inner + k];
}
void split_part_backward(TapeEntry& e) {
  float* gw = grad_for_accumulation(e.in[0]);
  if (!gw) return;
  const std::int64_t outer = e.i[0], inner = e.i[1], offset = e.i[2], whole = e.i[3];
  const std::int64_t part = e.out.numel() / (outer * inner);
  const float* gy = output_grad(e);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < part * inner; ++k)
      gw[(o * whole + offset) * inner + k] += gy[o * part * inner + k];
}

}  // namespace

Tensor reshape(const Tensor& a, const Shape& shape) {
  if (shape.numel() != a.numel())
    throw ShapeError(fmt::format("reshape: cannot view {} ({} elements) as {} ({} elements)", a.shape().str(),
                                 a.numel(), shape.str(), shape.numel()));
  Tensor v = a.detach();
  v.impl()->shape = shape;
  tape().record(v, &copy_grad_backward, "reshape", {a});
  return v;
}

Tensor reshape(const Tensor& a, std::span<const std::int64_t> dims) {
  const auto requested = [&] { return fmt::format("[{}]", fmt::join(dims, ", ")); };
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxDims))
    throw ShapeError(fmt::format("reshape: {} has {} dimensions, at most {} are supported", requested(),
                                 dims.size(), Shape::kMaxDims));
  std::array<std::int64_t, Shape::kMaxDims> resolved{};
  int inferred = -1;
  std::int64_t known = 1;  // product of the given sizes
  for (std::size_t k = 0; k < dims.size(); ++k) {
    const std::int64_t d = dims[k];
    if (d == -1 && inferred < 0) {
      inferred = static_cast<int>(k);
      continue;
    }
    if (d == -1)
      throw ShapeError(
          fmt::format("reshape: {} for {}: only one dimension can be -1", requested(), a.shape().str()));
    if (d < 0)
      throw ShapeError(fmt::format("reshape: {} for {}: dimension {} is negative ({})", requested(),
                                   a.shape().str(), k, d));
    resolved[k] = d;
    if (__builtin_mul_overflow(known, d, &known))
      throw ShapeError(fmt::format("reshape: {} has more elements than fit in 64 bits", requested()));
  }
  if (inferred >= 0) {
    // As torch.reshape: the -1 takes whatever makes the element counts equal, when exactly one size does.
    if (known == 0)
      throw ShapeError(fmt::format(
          "reshape: cannot view {} ({} elements) as {}: with a 0 among the sizes, the -1 could be anything",
          a.shape().str(), a.numel(), requested()));
    if (a.numel() % known != 0)
      throw ShapeError(fmt::format(
          "reshape: cannot view {} ({} elements) as {}: {} is not a multiple of the other sizes' product {}",
          a.shape().str(), a.numel(), requested(), a.numel(), known));
    resolved[static_cast<std::size_t>(inferred)] = a.numel() / known;
  }
  return reshape(a, Shape(std::span<const std::int64_t>(resolved.data(), dims.size())));
}

Tensor reshape(const Tensor& a, std::initializer_list<std::int64_t> dims) {
  return reshape(a, std::span<const std::int64_t>(dims.begin(), dims.size()));
}

Tensor transpose(const Tensor& a) {
  if (a.ndim() != 2) throw ShapeError(fmt::format("transpose: needs a 2-d tensor, got {}", a.shape().str()));
  const std::int64_t rows = a.size(0), cols = a.size(1);
  Tensor y = Tensor::empty(Shape{cols, rows});
  const float* pa = a.data();
  float* py = y.data();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) py[c * rows + r] = pa[r * cols + c];
  tape().record(y, &transpose_backward, "transpose", {a});
  return y;
}

Tensor clone(const Tensor& a) {
  Tensor y = Tensor::empty(a.shape());
  std::copy_n(a.data(), a.numel(), y.data());
  tape().record(y, &copy_grad_backward, "clone", {a});
  return y;
}

Tensor concat(std::span<const Tensor> parts, int dim) {
  if (parts.empty()) throw ShapeError("concat: no tensors given");
  const Shape& first = parts[0].shape();
  const int d = first.normalize_dim(dim);
  std::int64_t whole = 0;
  for (const Tensor& p : parts) {
    const Shape& s = p.shape();
    bool fits = s.ndim() == first.ndim();
    for (int k = 0; fits && k < s.ndim(); ++k) fits = k == d || s[k] == first[k];
    if (!fits)
      throw ShapeError(
          fmt::format("concat: shapes {} and {} differ outside dimension {}", first.str(), s.str(), d));
    whole += s[d];
  }
  const Around ar = around(first, d);
  Tensor y = Tensor::empty(first.with_dim(d, whole));
  float* py = y.data();
  std::int64_t offset = 0;
  for (const Tensor& p : parts) {
    const std::int64_t part = p.shape()[d];
    const float* pp = p.data();
    for (std::int64_t o = 0; o < ar.outer; ++o)
      std::copy_n(pp + o * part * ar.inner, part * ar.inner, py + (o * whole + offset) * ar.inner);
    offset += part;
  }
  // One entry per part: each routes its slice of the gradient back.
  offset = 0;
  for (const Tensor& p : parts) {
    if (TapeEntry* e = tape().record(y, &concat_part_backward, "concat", {p}))
      e->i = {ar.outer, ar.inner, offset, whole};
    offset += p.shape()[d];
  }
  return y;
}

Tensor concat(std::initializer_list<Tensor> parts, int dim) {
  return concat(std::span<const Tensor>(parts.begin(), parts.size()), dim);
}

// a [outer, n, inner] -> y [outer, length, inner]: the slice [start, start + length) of dimension dim.
Tensor narrow(const Tensor& a, int dim, std::int64_t start, std::int64_t length) {
  const Shape& s = a.shape();
  const int d = s.normalize_dim(dim);
  if (start < 0 || length < 0 || start + length > s[d])
    throw ShapeError(fmt::format("narrow: [{}, {}) is outside dimension {} of {} (size {})", start,
                                 start + length, d, s.str(), s[d]));
  const Around ar = around(s, d);
  Tensor y = Tensor::empty(s.with_dim(d, length));
  for (std::int64_t o = 0; o < ar.outer; ++o)
    std::copy_n(a.data() + (o * s[d] + start) * ar.inner, length * ar.inner,
                y.data() + o * length * ar.inner);
  if (TapeEntry* e = tape().record(y, &split_part_backward, "narrow", {a}))
    e->i = {ar.outer, ar.inner, start, s[d]};
  return y;
}

std::vector<Tensor> split(const Tensor& a, std::span<const std::int64_t> sizes, int dim) {
  const Shape& s = a.shape();
  const int d = s.normalize_dim(dim);
  std::int64_t total = 0;
  for (std::int64_t n : sizes) {
    if (n < 0) throw ShapeError(fmt::format("split: negative size {}", n));
    total += n;
  }
  if (total != s[d])
    throw ShapeError(
        fmt::format("split: sizes add up to {} but dimension {} of {} has {}", total, d, s.str(), s[d]));
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  std::int64_t offset = 0;
  for (std::int64_t part : sizes) {
    out.push_back(narrow(a, d, offset, part));
    offset += part;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& a, std::initializer_list<std::int64_t> sizes, int dim) {
  return split(a, std::span<const std::int64_t>(sizes.begin(), sizes.size()), dim);
}

std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, int dim) {
  const std::int64_t n = a.shape()[dim];
  if (chunks <= 0 || n % chunks != 0)
    throw ShapeError(fmt::format("chunk: dimension {} of {} ({}) does not split into {} equal chunks", dim,
                                 a.shape().str(), n, chunks));
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(chunks), n / chunks);
  return split(a, sizes, dim);
}

}  // namespace bend
