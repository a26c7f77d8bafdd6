// Dropout2d module; the op is bend::dropout2d.
#include "bend/nn/dropout2d.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

Dropout2d::Dropout2d(float p) : Dropout2d(p, default_rng().next_u64()) {}
Dropout2d::Dropout2d(float p, std::uint64_t seed) : p_(p), rng_(std::make_shared<Rng>(seed)) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError(fmt::format("Dropout2d: p must be in [0, 1], got {}", p));
}

Tensor Dropout2d::forward(const Tensor& x) {
  try {
    return dropout2d(x, p_, is_training(), *rng_);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", describe(), e.what()));
  }
}

std::string Dropout2d::describe() const { return fmt::format("Dropout2d(p={})", p_); }

}  // namespace bend::nn
