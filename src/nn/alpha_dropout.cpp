// AlphaDropout module.
#include "bend/nn/alpha_dropout.hpp"

#include <fmt/format.h>

namespace bend::nn {

AlphaDropout::AlphaDropout(float p) : Dropout(p) {}
AlphaDropout::AlphaDropout(float p, std::uint64_t seed) : Dropout(p, seed) {}
std::string AlphaDropout::describe() const { return fmt::format("AlphaDropout(p={})", p()); }

}  // namespace bend::nn
