// embedding: F.embedding, a row lookup.
//   indices: any shape, float32 whole numbers in [0, V)   weight: [V, D]   y: indices.shape + [D]
//   forward:  y[n] = weight[indices[n]]
//   backward: dweight[indices[n]] += dy[n] for every n whose index is not padding_idx (repeats add up)
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

// Entry: in = {indices, weight}; i = {D, padding row or -1}.
void embedding_backward(TapeEntry& e) {
  float* gw = grad_for_accumulation(e.in[1]);
  if (!gw) return;
  const Tensor& indices = e.in[0];
  const std::int64_t width = e.i[0], padding = e.i[1], count = indices.numel();
  const float* idx = indices.data();
  const float* gy = output_grad(e);
  for (std::int64_t n = 0; n < count; ++n) {
    const auto row = static_cast<std::int64_t>(idx[n]);
    if (row == padding) continue;
    float* dst = gw + row * width;
    const float* src = gy + n * width;
    for (std::int64_t j = 0; j < width; ++j) dst[j] += src[j];
  }
}

}  // namespace

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
  if (weight.ndim() != 2)
    throw ShapeError(fmt::format("embedding: weight must be [num_embeddings, embedding_dim], got {}",
                                 weight.shape().str()));
  const std::int64_t rows = weight.size(0), width = weight.size(1);
  if (indices.ndim() + 1 > Shape::kMaxDims)
    throw ShapeError(fmt::format("embedding: indices {} have too many dimensions (at most {})",
                                 indices.shape().str(), Shape::kMaxDims - 1));
  std::int64_t padding = -1;
  if (padding_idx) {
    padding = *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
    if (padding < 0 || padding >= rows)
      throw ValueError(
          fmt::format("embedding: padding_idx {} is outside [-{}, {})", *padding_idx, rows, rows));
  }
  const float* idx = indices.data();
  const std::int64_t count = indices.numel();
  for (std::int64_t n = 0; n < count; ++n) {
    const float v = idx[n];
    if (!(v >= 0.0f && v < static_cast<float>(rows)) || v != std::floor(v))
      throw ValueError(
          fmt::format("embedding: index {} at position {} of indices {} is not a whole number in "
                      "[0, {}) (num_embeddings = {})",
                      v, n, indices.shape().str(), rows, rows));
  }
  std::int64_t out_dims[Shape::kMaxDims];
  std::copy(indices.shape().begin(), indices.shape().end(), out_dims);
  out_dims[indices.ndim()] = width;
  Tensor y = Tensor::empty(
      Shape(std::span<const std::int64_t>(out_dims, static_cast<std::size_t>(indices.ndim() + 1))));
  const float* pw = weight.data();
  float* py = y.data();
  for (std::int64_t n = 0; n < count; ++n)
    std::copy_n(pw + static_cast<std::int64_t>(idx[n]) * width, width, py + n * width);
  if (TapeEntry* e = tape().record(y, &embedding_backward, "embedding", {indices, weight}))
    e->i = {width, padding, 0, 0};
  return y;
}

}  // namespace bend
