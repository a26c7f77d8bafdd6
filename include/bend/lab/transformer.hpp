#pragma once
// bend lab transformer's settings (LabSettings::transformer; the experiment is transformer_claim in
// bend/lab/claims.hpp, measured in src/lab/transformer.cpp).
//
// The docs' claim that GELU, SiLU and SwiGLU train transformers better than ReLU, measured on a small
// vision transformer (--model vit's kinds of layers) trained on MNIST over several seeds: one `bend compare`
// sweep (bend/lab/compare.hpp), decided by its paired t-tests over seeds with Holm's correction:
//   reproduced      every one of gelu, silu and swiglu beats relu (Holm-adjusted p <= alpha, higher mean);
//   not reproduced  one of them is resolved and not better than relu (relu wins that pair);
//   not settled     otherwise (ClaimOutcome::not_settled: "not settled at N seeds ..."): the outcome says how
//                   many seeds a paired test would need for the largest unresolved gap
//                   (stats::paired_sample_size).
// Numbers set: "<act>_accuracy" (mean final test accuracy, a fraction), "<act>_minus_relu" (mean paired
// gap, a fraction; the text gives both in % and points),
// "<act>_p_holm", "<act>_seeds_needed" (0 when resolved or unknown), "seeds", "verdict" (1 reproduced,
// 0 not reproduced, -1 not settled).
#include <cstdint>
#include <string>
#include <vector>

namespace bend::lab {

struct TransformerSettings {
  // A ViT on 28x28 images: 16 patch tokens and the class token, two pre-norm blocks of width 32.
  std::string arch = "1x28x28-patch7d32:patch_embed-cls-pos-tf2h4f64:blocks-tok0-ln:norm-10:head";
  std::string baseline = "relu";
  std::vector<std::string> challengers = {"gelu", "silu", "swiglu"};
  int seeds = 5;
  std::int64_t train_limit = 10000, test_limit = 0;
  std::int64_t epochs = 3;
  std::int64_t batch = 64;
  double lr = 2e-3;  // Adam with cosine decay (the default recipe)
  int threads = 0;   // per run (0: bend's default)
};

}  // namespace bend::lab
