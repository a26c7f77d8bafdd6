// PatchEmbedding: a patch-sized, patch-strided convolution read as a token sequence.
#include "bend/nn/patch_embedding.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

PatchEmbedding::PatchEmbedding(std::int64_t in_channels, std::int64_t embed_dim, std::int64_t patch, Rng& rng)
    : Conv2d(in_channels, embed_dim, Size2d(patch), Size2d(patch), Size2d(0), Size2d(1), true, rng) {}

Tensor PatchEmbedding::forward(const Tensor& x) {
  const std::int64_t p = patch();
  if (x.ndim() != 4 || x.size(1) != in_channels() || x.size(2) % p != 0 || x.size(3) % p != 0)
    throw ShapeError(fmt::format("{}: input {} is not [N, {}, H, W] with H and W multiples of the patch {}",
                                 describe(), x.shape().str(), in_channels(), p));
  const Tensor y = Conv2d::forward(x);  // [N, D, H/p, W/p]
  const std::int64_t n = y.size(0), d = y.size(1), tokens = y.size(2) * y.size(3);
  return transpose(reshape(y, {n, d, tokens}), 1, 2);  // [N, tokens, D]
}

std::string PatchEmbedding::describe() const {
  return fmt::format("PatchEmbedding({}, {}, patch={})", in_channels(), out_channels(), patch());
}

}  // namespace bend::nn
