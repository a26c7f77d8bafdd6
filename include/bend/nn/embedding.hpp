#pragma once
// Embedding(num_embeddings, embedding_dim, padding_idx): a table of vectors looked up by index, as
// torch.nn.Embedding. Parameter "weight" [num_embeddings, embedding_dim], initialised N(0, 1) with the
// padding row zeroed. The input holds indices as float32 whole numbers (bend's tensors are float32);
// an index that is not a whole number in [0, num_embeddings) throws ValueError naming it (see
// bend::embedding). The padding row receives no gradient.
#include <optional>

#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            std::optional<std::int64_t> padding_idx = std::nullopt);
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx,
            Rng& rng);
  // indices [*] -> [*, embedding_dim]
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string describe() const override;  // "Embedding(10, 3, padding_idx=0)"
  std::int64_t num_embeddings() const { return weight.size(0); }
  std::int64_t embedding_dim() const { return weight.size(1); }
  // Normalised to [0, num_embeddings) as PyTorch stores it; nullopt when there is none.
  std::optional<std::int64_t> padding_idx() const { return padding_idx_; }
  Tensor weight;

 private:
  std::optional<std::int64_t> padding_idx_;
};

}  // namespace bend::nn
