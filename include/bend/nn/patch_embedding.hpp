#pragma once
// PatchEmbedding(in_channels, embed_dim, patch): a vision transformer's patch embedding. A Conv2d with
// kernel_size = stride = patch cuts the image into patch x patch squares and projects each to embed_dim
// values; the result is read as a sequence of tokens, row by row:
//   x [N, C, H, W] -> conv [N, D, H/p, W/p] -> [N, (H/p)·(W/p), D]
// (PyTorch: conv(x).flatten(2).transpose(1, 2)). The state is the Conv2d's, "weight" [D, C, p, p] and
// "bias" [D], with its default init, so a model naming this module patch_embed loads into a torch model
// whose patch_embed is nn.Conv2d(C, D, kernel_size=p, stride=p). A patch that does not divide the image
// throws ShapeError naming both.
#include "bend/nn/conv2d.hpp"

namespace bend::nn {

class PatchEmbedding : public Conv2d {
 public:
  PatchEmbedding(std::int64_t in_channels, std::int64_t embed_dim, std::int64_t patch, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PatchEmbedding"; }
  std::string describe() const override;  // "PatchEmbedding(1, 64, patch=7)"
  std::int64_t patch() const { return kernel_size().h; }
};

}  // namespace bend::nn
