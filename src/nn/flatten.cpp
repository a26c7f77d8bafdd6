// Flatten module: a reshape (view) that joins dimensions start_dim..end_dim.
#include "bend/nn/flatten.hpp"

#include <array>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

Flatten::Flatten(int start_dim, int end_dim) : start_dim_(start_dim), end_dim_(end_dim) {}

Shape Flatten::output_shape(const Shape& in) const {
  const int n = in.ndim() == 0 ? 1 : in.ndim();  // a 0-d input flattens as if it were [1]
  const int start = start_dim_ < 0 ? start_dim_ + n : start_dim_;
  const int end = end_dim_ < 0 ? end_dim_ + n : end_dim_;
  if (start < 0 || start >= n || end < 0 || end >= n || start > end)
    throw ShapeError(fmt::format("{}: input {} has no dimensions {}..{} to flatten", describe(), in.str(),
                                 start_dim_, end_dim_));
  if (in.ndim() == 0) return Shape{1};
  std::array<std::int64_t, Shape::kMaxDims> dims{};  // on the stack: forward allocates nothing
  std::size_t count = 0;
  for (int k = 0; k < start; ++k) dims[count++] = in[k];
  std::int64_t joined = 1;
  for (int k = start; k <= end; ++k) joined *= in[k];
  dims[count++] = joined;
  for (int k = end + 1; k < in.ndim(); ++k) dims[count++] = in[k];
  return Shape(std::span<const std::int64_t>(dims.data(), count));
}

Tensor Flatten::forward(const Tensor& x) { return reshape(x, output_shape(x.shape())); }

std::string Flatten::describe() const {
  return fmt::format("Flatten(start_dim={}, end_dim={})", start_dim_, end_dim_);
}

}  // namespace bend::nn
