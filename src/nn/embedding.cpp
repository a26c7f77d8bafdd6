// Embedding: registration and PyTorch's init (N(0, 1), padding row zero); the op is bend::embedding.
#include "bend/nn/embedding.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/init.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
                     std::optional<std::int64_t> padding_idx)
    : Embedding(num_embeddings, embedding_dim, padding_idx, default_rng()) {}

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
                     std::optional<std::int64_t> padding_idx, Rng& rng) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    throw ValueError(fmt::format("Embedding: sizes must be positive, got num_embeddings={} embedding_dim={}",
                                 num_embeddings, embedding_dim));
  if (padding_idx) {
    if (*padding_idx < -num_embeddings || *padding_idx >= num_embeddings)
      throw ValueError(fmt::format("Embedding({}, {}): padding_idx {} must be within num_embeddings",
                                   num_embeddings, embedding_dim, *padding_idx));
    padding_idx_ = *padding_idx < 0 ? *padding_idx + num_embeddings : *padding_idx;
  }
  weight = register_parameter("weight", Tensor::empty({num_embeddings, embedding_dim}));
  init::normal_(weight, 0.0f, 1.0f, rng);
  if (padding_idx_) std::fill_n(weight.data() + *padding_idx_ * embedding_dim, embedding_dim, 0.0f);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight, padding_idx_); }

std::string Embedding::describe() const {
  if (padding_idx_)
    return fmt::format("Embedding({}, {}, padding_idx={})", num_embeddings(), embedding_dim(), *padding_idx_);
  return fmt::format("Embedding({}, {})", num_embeddings(), embedding_dim());
}

}  // namespace bend::nn
