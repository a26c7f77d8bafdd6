#pragma once
// fmt formatters: fmt::print("{}", tensor) prints like torch ("tensor([[1.0000, 2.0000], ...])" with
// the shape), eliding the middle of large tensors; fmt::print("{}", shape) prints "[2, 3]".
#include <string>

#include <fmt/format.h>

#include "bend/shape.hpp"
#include "bend/tensor.hpp"

namespace bend {
// Torch-style text of a tensor. Tensors over `threshold` elements show `edge_items` at each end of
// every dimension, as torch.set_printoptions does.
std::string to_string(const Tensor& t, int precision = 4, std::int64_t threshold = 1000,
                      std::int64_t edge_items = 3);
}  // namespace bend

template <>
struct fmt::formatter<bend::Shape> : fmt::formatter<std::string> {
  auto format(const bend::Shape& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};

template <>
struct fmt::formatter<bend::Tensor> : fmt::formatter<std::string> {
  auto format(const bend::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(bend::to_string(t), ctx);
  }
};
