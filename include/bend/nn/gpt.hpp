#pragma once
// GPT: nanoGPT's model.py in bend, parameter for parameter and name for name, so that nanoGPT's GPT class
// loads a bend file (only its causal-mask buffer "attn.bias" is absent: bend's attention is causal by
// construction).
//
//   transformer.wte      Embedding(vocab_size, n_embd)          token embedding, tied to lm_head
//   transformer.wpe      Embedding(block_size, n_embd)          position embedding
//   transformer.drop     Dropout(dropout)
//   transformer.h.N      Block: x + attn(ln_1(x)), then x + mlp(ln_2(x))   (pre-norm, N = 0..n_layer-1)
//     ln_1, ln_2         LayerNorm(n_embd, bias)                (weight, and bias unless bias=False)
//     attn.c_attn        Linear(n_embd, 3·n_embd, bias)         q, k, v packed
//     attn.c_proj        Linear(n_embd, n_embd, bias)           then resid dropout
//     mlp.c_fc           Linear(n_embd, 4·n_embd, bias)         (2·4·n_embd for swiglu: gate, then up)
//     mlp.c_proj         Linear(4·n_embd, n_embd, bias)         then dropout
//   transformer.ln_f     LayerNorm(n_embd, bias)
//   lm_head              Linear(n_embd, vocab_size, bias=False) the same tensor as transformer.wte.weight
//
// With head "adaptive" (`--head adaptive --cutoffs a,b,...`), lm_head is instead
// AdaptiveLogSoftmaxWithLoss(n_embd, vocab_size, cutoffs, div_value, head_bias=False) with PyTorch's
// names (lm_head.head.weight, lm_head.tail.N.0.weight, lm_head.tail.N.1.weight). Its weights are not
// tied to the token embedding (the head scores the shortlist and the clusters, not every token), and
// nanoGPT's init reaches them as it reaches every Linear: N(0, 0.02). forward() then gives the
// log-probabilities of every token (AdaptiveLogSoftmaxWithLoss::log_prob), which softmax and sampling
// treat as logits; loss() takes the cheap path that evaluates only the clusters the targets fall in.
//
// Attention is scaled_dot_product_attention with is_causal (attention dropout on the weights, as
// nanoGPT's). The MLP's activation is any entry of the activation table (GELU, erf form, as nn.GELU(), by
// default) or "swiglu": silu(gate) ⊙ up with c_fc producing both halves. Initialisation is nanoGPT's:
// every Linear and Embedding weight N(0, 0.02), biases 0, LayerNorm weight 1, and each c_proj.weight
// N(0, 0.02/√(2·n_layer)).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

struct GPTConfig {
  std::int64_t block_size = 256;
  std::int64_t vocab_size = 65;
  std::int64_t n_layer = 6;
  std::int64_t n_head = 6;
  std::int64_t n_embd = 384;
  float dropout = 0.0f;
  bool bias = true;                   // bias in Linears and LayerNorms
  std::string activation = "gelu";    // an activation-table name, or "swiglu"
  std::string head = "full";          // "full" (tied Linear) or "adaptive"
  std::vector<std::int64_t> cutoffs;  // head "adaptive": strictly increasing, in [1, vocab_size - 1]
  double div_value = 4.0;             // head "adaptive": tail i is n_embd // div_value^(i+1) wide

  // ValueError naming the field for sizes < 1, n_embd not divisible by n_head, dropout outside [0, 1),
  // an unknown activation or head, or cutoffs that are not increasing or not below vocab_size.
  void validate() const;
};

class GPT : public Module {
 public:
  // Initialised from `rng` as nanoGPT's _init_weights.
  GPT(const GPTConfig& config, Rng& rng);
  // idx [B, T] token ids (float32 whole numbers, T <= block_size) -> logits [B, T, vocab_size]
  // (log-probabilities with the adaptive head).
  Tensor forward(const Tensor& idx) override;
  // The mean next-token cross-entropy of idx [B, T] against `targets` (B·T ids, row-major): nanoGPT's
  // F.cross_entropy(logits.view(-1, V), targets.view(-1)), or the adaptive head's loss.
  Tensor loss(const Tensor& idx, std::span<const std::int32_t> targets);
  // The final LayerNorm's output [B, T, n_embd], what the head reads.
  Tensor hidden(const Tensor& idx);
  std::string type_name() const override { return "GPT"; }
  std::string describe() const override;
  const GPTConfig& config() const { return config_; }
  // nanoGPT's get_num_params(non_embedding=True): parameters without the position embedding.
  std::int64_t num_non_embedding_parameters() const;
  // The 2-d weights (nanoGPT's decay group: every tensor with dim >= 2), by position in parameters().
  std::vector<bool> decay_mask() const;
  // For the diagnostics (bend/train/diagnostics.hpp): when set, the MLP of block N calls it in forward
  // with N, its pre-activation (c_fc's output; swiglu: the gate half) and the activation's output, both
  // [B, T, 4·n_embd]. An empty function (the default) removes it.
  using MlpProbe = std::function<void(std::int64_t block, const Tensor& pre, const Tensor& post)>;
  void set_mlp_probe(MlpProbe probe);

 private:
  GPTConfig config_;
  struct Parts;
  std::shared_ptr<Parts> parts_;
};

// sample.py's generation: appends `tokens` ids to `ids`, each drawn from softmax(logits[-1] /
// temperature) restricted to the top_k largest logits (all when top_k is empty), the context cropped to
// the last block_size ids. `on_token` sees each new id as it is drawn (streaming). The model is put in
// eval mode and run without the tape. ValueError for temperature <= 0, top_k < 1, or empty ids.
void generate(GPT& model, std::vector<std::int32_t>& ids, std::int64_t tokens, float temperature,
              std::optional<std::int64_t> top_k, Rng& rng,
              const std::function<void(std::int32_t)>& on_token = {});

}  // namespace bend::nn
