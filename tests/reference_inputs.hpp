#pragma once
// The inputs of the PyTorch reference scripts (scripts/torch_*_reference.py), built the same way here so
// that the stored reference numbers apply: element i of a pattern is float(scale·sin(a·i + b)).
#include <cmath>

#include "bend/bend.hpp"

namespace bend::testing {

inline Tensor pattern(const Shape& shape, double a, double b, double scale = 1.0) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data()[i] = static_cast<float>(scale * std::sin(a * static_cast<double>(i) + b));
  return t;
}

// The same rounded to multiples of 0.5, so that values tie (max pooling, argmax).
inline Tensor steps(const Shape& shape, double a, double b) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data()[i] = static_cast<float>(std::floor(2.0 * std::sin(a * static_cast<double>(i) + b) + 0.5) / 2.0);
  return t;
}

// The upstream gradient the reference scripts use for an output y.
inline Tensor seed_for(const Tensor& y) { return pattern(y.shape(), 0.23, 0.5); }

}  // namespace bend::testing
