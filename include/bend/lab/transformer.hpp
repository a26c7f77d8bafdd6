#pragma once
// bend lab transformer's settings (LabSettings::transformer; the experiment is transformer_claim in
// bend/lab/claims.hpp, measured in src/lab/transformer.cpp).
//
// The docs' claim that GELU, SiLU and SwiGLU train transformers better than ReLU, measured twice, each
// part one `bend compare` sweep (bend/lab/compare.hpp) over several seeds decided by its paired t-tests
// with Holm's correction:
//   vision   a small vision transformer (--model vit's kinds of layers) on MNIST: final test accuracy;
//   language the character-level GPT of `bend train --model gpt` (nanoGPT's model and loop) on the
//            fortunes corpus: final val loss (lower is better).
// Each part's verdict:
//   reproduced      every one of gelu, silu and swiglu beats relu (Holm-adjusted p <= alpha, better mean);
//   not reproduced  one of them is resolved and not better than relu (relu wins that pair);
//   not settled     otherwise, with the seeds a paired test would need for the largest unresolved gap
//                   (stats::paired_sample_size).
// The claim's verdict: not reproduced when a part is; reproduced when both are; otherwise "not settled at
// N seeds" (ClaimOutcome::not_settled) with the most seeds an unsettled part would need. A machine without
// the fortunes corpus measures the vision part only, and the outcome says so.
// Numbers set, vision: "<act>_accuracy" (mean final test accuracy, a fraction), "<act>_minus_relu" (mean
// paired gap, a fraction; the text gives both in % and points), "<act>_p_holm", "<act>_seeds_needed" (0
// when resolved or unknown), "seeds", "vit_verdict"; language: "lm_<act>_val_loss" (mean final val loss,
// nats), "lm_<act>_gain" (relu's val loss minus the activation's, paired mean: > 0 is better than relu),
// "lm_<act>_p_holm", "lm_<act>_seeds_needed", "lm_seeds", "lm_measured" (1, or 0 without the corpus),
// "lm_verdict"; "verdict" the claim's. Verdicts: 1 reproduced, 0 not reproduced, -1 not settled.
#include <cstdint>
#include <string>
#include <vector>

namespace bend::lab {

// The language-model part: nanoGPT's loop (AdamW, weight decay 0.1 on 2-d weights, beta2 0.99, clip 1,
// warm-up then cosine to lr / 10) on a small character GPT.
struct TransformerTextSettings {
  std::string dataset = "fortunes";  // a text dataset of the registry
  std::int64_t n_layer = 2, n_head = 2, n_embd = 64, block_size = 64;
  std::int64_t batch = 12, steps = 400, warmup = 40;
  std::int64_t eval_iters = 16;  // batches per estimate; estimates at steps 0, 1/4, ..., the end
  double lr = 2e-3;
  int seeds = 5;
  int threads = 1;  // per run; the runs go one per core (a narrow model gains little from threads)
  bool enabled = true;
};

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
  TransformerTextSettings text;
};

}  // namespace bend::lab
