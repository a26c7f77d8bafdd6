// TakeToken: one position of a token sequence.
#include "bend/nn/take_token.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

TakeToken::TakeToken(std::int64_t index) : index_(index) {
  if (index < 0) throw ValueError(fmt::format("TakeToken: index must not be negative, got {}", index));
}

Tensor TakeToken::forward(const Tensor& x) {
  if (x.ndim() != 3 || x.size(1) <= index_)
    throw ShapeError(fmt::format("{}: input {} is not a batch of sequences [N, T, D] with T > {}", describe(),
                                 x.shape().str(), index_));
  return reshape(narrow(x, 1, index_, 1), {x.size(0), x.size(2)});
}

std::string TakeToken::describe() const { return fmt::format("TakeToken(index={})", index_); }

}  // namespace bend::nn
