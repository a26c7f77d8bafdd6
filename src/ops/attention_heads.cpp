// Moving attention heads in and out of the [B, H, L, d] layout the attention op works on.
//   split_heads:  x [B, L, P·H·d] (seq_first: [L, B, P·H·d]) -> y [P, B, H, L, d]
//                 y[p, b, h, l, :] = x[b, l, (p·H + h)·d : (p·H + h + 1)·d]
//   merge_heads:  o [B, H, L, d] -> y [B, L, H·d] (seq_first: [L, B, H·d]), split_heads' inverse for P = 1
//   select_first: a [n, *] -> the view a[index] (shares a's memory)
// Each backward moves the gradient the opposite way (adding). Rows of d floats are copied whole.
#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

struct HeadLayout {
  std::int64_t parts, batch, heads, len, width;
  bool seq_first;
  // Offset of row (b, l) of the packed [B, L, P·H·d] (or [L, B, ...]) tensor, and of block (p, h) in it.
  std::int64_t packed(std::int64_t p, std::int64_t b, std::int64_t h, std::int64_t l) const {
    const std::int64_t row = seq_first ? l * batch + b : b * len + l;
    return (row * parts * heads + p * heads + h) * width;
  }
  std::int64_t split(std::int64_t p, std::int64_t b, std::int64_t h, std::int64_t l) const {
    return (((p * batch + b) * heads + h) * len + l) * width;
  }
};

// Calls move(packed offset, split offset) for every row of d floats.
template <class Move>
void for_each_row(const HeadLayout& s, Move&& move) {
  for (std::int64_t p = 0; p < s.parts; ++p)
    for (std::int64_t b = 0; b < s.batch; ++b)
      for (std::int64_t h = 0; h < s.heads; ++h)
        for (std::int64_t l = 0; l < s.len; ++l) move(s.packed(p, b, h, l), s.split(p, b, h, l));
}

HeadLayout layout_of(const TapeEntry& e) {
  return {e.i[0], e.i[1], e.i[2], e.i[3], static_cast<std::int64_t>(e.f[0]), e.f[1] != 0.0f};
}

// Entry: in = {x}; i = {P, B, H, L}; f = {d, seq_first}.
void split_heads_backward(TapeEntry& e) {
  const GradTarget gx = grad_target(e.in[0]);
  if (!gx) return;
  const HeadLayout s = layout_of(e);
  const float* gy = output_grad(e);
  for_each_row(s, [&](std::int64_t packed, std::int64_t split) {
    if (gx.is_zero)
      std::copy_n(gy + split, s.width, gx.data + packed);
    else
      for (std::int64_t j = 0; j < s.width; ++j) gx.data[packed + j] += gy[split + j];
  });
}

// Entry: in = {o}; i = {1, B, H, L}; f = {d, seq_first}.
void merge_heads_backward(TapeEntry& e) {
  const GradTarget go = grad_target(e.in[0]);
  if (!go) return;
  const HeadLayout s = layout_of(e);
  const float* gy = output_grad(e);
  for_each_row(s, [&](std::int64_t packed, std::int64_t split) {
    if (go.is_zero)
      std::copy_n(gy + packed, s.width, go.data + split);
    else
      for (std::int64_t j = 0; j < s.width; ++j) go.data[split + j] += gy[packed + j];
  });
}

// Entry: in = {a}; i[0] = offset of the view in a.
void select_first_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float* gy = output_grad(e);
  const std::int64_t n = e.out.numel();
  ga += e.i[0];
  for (std::int64_t j = 0; j < n; ++j) ga[j] += gy[j];
}

}  // namespace

Tensor split_heads(const Tensor& x, std::int64_t parts, std::int64_t heads, bool seq_first) {
  if (x.ndim() != 3 || parts <= 0 || heads <= 0 || x.size(2) % (parts * heads) != 0)
    throw ShapeError(
        fmt::format("split_heads: input {} is not [{}, {}, parts·heads·d] with {} parts of {} heads",
                    x.shape().str(), seq_first ? "L" : "B", seq_first ? "B" : "L", parts, heads));
  const std::int64_t batch = x.size(seq_first ? 1 : 0), len = x.size(seq_first ? 0 : 1);
  const HeadLayout s{parts, batch, heads, len, x.size(2) / (parts * heads), seq_first};
  Tensor y = Tensor::empty(Shape{parts, batch, heads, len, s.width});
  const float* px = x.data();
  float* py = y.data();
  for_each_row(
      s, [&](std::int64_t packed, std::int64_t split) { std::copy_n(px + packed, s.width, py + split); });
  if (TapeEntry* e = tape().record(y, &split_heads_backward, "split_heads", {x})) {
    e->i = {parts, batch, heads, len};
    e->f = {static_cast<float>(s.width), seq_first ? 1.0f : 0.0f, 0.0f, 0.0f};
  }
  return y;
}

Tensor merge_heads(const Tensor& o, bool seq_first) {
  if (o.ndim() != 4)
    throw ShapeError(fmt::format("merge_heads: input must be [B, H, L, d], got {}", o.shape().str()));
  const HeadLayout s{1, o.size(0), o.size(1), o.size(2), o.size(3), seq_first};
  const std::int64_t features = s.heads * s.width;
  Tensor y = Tensor::empty(seq_first ? Shape{s.len, s.batch, features} : Shape{s.batch, s.len, features});
  const float* po = o.data();
  float* py = y.data();
  for_each_row(
      s, [&](std::int64_t packed, std::int64_t split) { std::copy_n(po + split, s.width, py + packed); });
  if (TapeEntry* e = tape().record(y, &merge_heads_backward, "merge_heads", {o})) {
    e->i = {1, s.batch, s.heads, s.len};
    e->f = {static_cast<float>(s.width), seq_first ? 1.0f : 0.0f, 0.0f, 0.0f};
  }
  return y;
}

Tensor select_first(const Tensor& a, std::int64_t index) {
  if (a.ndim() < 1 || index < 0 || index >= a.size(0))
    throw ShapeError(
        fmt::format("select_first: index {} is outside dimension 0 of {}", index, a.shape().str()));
  const Shape shape = a.shape().without_dim(0);
  const std::int64_t offset = index * shape.numel();
  Tensor view = a.detach();
  view.impl()->shape = shape;
  view.impl()->numel = shape.numel();
  view.impl()->data += offset;
  if (TapeEntry* e = tape().record(view, &select_first_backward, "select_first", {a})) e->i[0] = offset;
  return view;
}

}  // namespace bend
