// Dropout module.
#include "bend/nn/dropout.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

Dropout::Dropout(float p) : Dropout(p, default_rng().next_u64()) {}
Dropout::Dropout(float p, std::uint64_t seed) : p_(p), rng_(std::make_shared<Rng>(seed)) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError(fmt::format("Dropout: p must be in [0, 1], got {}", p));
}
std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

}  // namespace bend::nn
