// Shape: construction, validation and printing.
#include "bend/shape.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {

Shape::Shape(std::initializer_list<std::int64_t> dims)
    : Shape(std::span<const std::int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const std::int64_t> dims) {
  if (dims.size() > kMaxDims)
    throw ShapeError(
        fmt::format("Shape: {} dimensions given, at most {} are supported", dims.size(), kMaxDims));
  // The product of the non-zero dimensions must fit in int64, so numel() and every partial product
  // of it (index arithmetic) cannot overflow, whatever the order of the dimensions.
  std::int64_t nonzero_product = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) throw ShapeError(fmt::format("Shape: dimension {} is negative ({})", i, dims[i]));
    if (dims[i] != 0 && __builtin_mul_overflow(nonzero_product, dims[i], &nonzero_product))
      throw ShapeError(
          fmt::format("Shape: [{}] has more elements than fit in 64 bits", fmt::join(dims, ", ")));
    dims_[i] = dims[i];
  }
  ndim_ = static_cast<int>(dims.size());
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

int Shape::normalize_dim(int dim) const {
  const int d = dim < 0 ? dim + ndim_ : dim;
  if (d < 0 || d >= ndim_)
    throw ShapeError(fmt::format("dimension {} is out of range for a tensor of shape {}", dim, str()));
  return d;
}

Shape Shape::with_dim(int dim, std::int64_t size) const {
  std::array<std::int64_t, kMaxDims> dims = dims_;
  dims[static_cast<std::size_t>(normalize_dim(dim))] = size;
  return Shape(std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(ndim_)));
}

Shape Shape::without_dim(int dim) const {
  const int d = normalize_dim(dim);
  Shape s;
  for (int i = 0; i < ndim_; ++i)
    if (i != d) s.dims_[static_cast<std::size_t>(s.ndim_++)] = dims_[static_cast<std::size_t>(i)];
  return s;
}

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(dims(), ", ")); }

}  // namespace bend
