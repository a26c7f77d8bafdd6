#pragma once
// Shape: the dimensions of a tensor, stored inline (no heap) so that creating tensors in a training
// step allocates nothing.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace bend {

class Shape {
 public:
  static constexpr int kMaxDims = 6;

  Shape() = default;  // a 0-d (scalar) shape
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::span<const std::int64_t> dims);

  int ndim() const { return ndim_; }
  // dims()[i]; negative i counts from the end, as in PyTorch. Throws ShapeError when out of range.
  std::int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(normalize_dim(i))]; }
  std::int64_t numel() const;
  std::span<const std::int64_t> dims() const { return {dims_.data(), static_cast<std::size_t>(ndim_)}; }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + ndim_; }

  // Maps a possibly negative dimension index into [0, ndim); throws ShapeError otherwise.
  int normalize_dim(int dim) const;
  Shape with_dim(int dim, std::int64_t size) const;  // a copy with one dimension changed
  Shape without_dim(int dim) const;                  // a copy with one dimension removed

  std::string str() const;  // "[2, 3]"
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.ndim_ != b.ndim_) return false;
    for (int i = 0; i < a.ndim_; ++i)
      if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }

 private:
  std::array<std::int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

}  // namespace bend
