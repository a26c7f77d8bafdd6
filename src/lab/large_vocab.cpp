// bend lab large-vocab: the selection guide's "Large vocabulary NLP: AdaptiveLogSoftmax", measured on a
// word-level GPT trained on the fortunes corpus with a vocabulary of 20,000 words, once with the full
// softmax head (a Linear tied to the token embedding, nanoGPT's) and once with AdaptiveLogSoftmaxWithLoss
// (`bend train --model gpt --vocab word --head adaptive`): the same model body, data, seed and batches.
//
// Measured: the CPU time of a training step (median over the steps; process CPU time with one thread,
// so that the other jobs on a loaded machine count less than in wall time) and the val perplexity
// (exp of the val loss estimated after the same number of steps).
//   reproduced      the adaptive step takes <= kMaxStepTimeRatio of the full step's CPU time and its val
//                   perplexity is <= kMaxPerplexityRatio times the full head's;
//   not reproduced  otherwise (the outcome says which half failed).
// Numbers set: "full_step_cpu_ms", "adaptive_step_cpu_ms", "step_time_ratio", "full_perplexity",
// "adaptive_perplexity", "perplexity_ratio", "vocab_size", "unknown_share", "steps", "verdict".
#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/data/registry.hpp"
#include "bend/lab/claims.hpp"
#include "bend/train/gpt_source.hpp"
#include "bend/train/trainer.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// A named namespace (not an anonymous one): the library is built in unity batches with the other
// experiments, which have helpers of the same names.
namespace large_vocab_detail {

// The thresholds of the verdict.
constexpr double kMaxStepTimeRatio = 0.5;    // adaptive step CPU time / full step CPU time
constexpr double kMaxPerplexityRatio = 1.1;  // adaptive val perplexity / full val perplexity

struct LargeVocabSettings {
  std::int64_t vocab_size = 20000;  // entries, <unk> included
  std::vector<std::int64_t> cutoffs = {2000, 10000};
  double div_value = 4.0;
  // nanoGPT's CPU configuration (n_head 4, n_embd 128, block 64, batch 12, AdamW 1e-3 -> 1e-4, beta2
  // 0.99, weight decay 0.1, clip 1), two blocks instead of four, and a short run.
  std::int64_t n_layer = 2, n_head = 4, n_embd = 128, block_size = 64, batch = 12;
  std::int64_t steps = 120, warmup = 12, eval_interval = 40, eval_iters = 8;
  double lr = 1e-3;
};

LargeVocabSettings settings_for(bool quick) {
  LargeVocabSettings s;
  if (quick) {  // the vocabulary stays 20,000 words: the claim is about its size
    s.n_layer = 1;
    s.n_head = 2;
    s.n_embd = 32;
    s.block_size = 16;
    s.batch = 4;
    s.steps = 8;
    s.warmup = 2;
    s.eval_interval = 4;
    s.eval_iters = 2;
    s.cutoffs = {1000, 6000};
  }
  return s;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The CPU time of every training step (from its data phase to its end) and the estimates.
struct StepClock : train::TrainObserver {
  double start = 0, total = 0;
  std::vector<double> steps;
  std::vector<double> eval_step, eval_perplexity, eval_cpu;
  void on_phase(train::StepPhase p) override {
    if (p == train::StepPhase::Data) start = cpu_seconds();
  }
  void on_step(const train::StepProgress&) override {
    steps.push_back(cpu_seconds() - start);
    total += steps.back();
  }
  void on_epoch(const train::EpochMetrics& m) override {
    eval_step.push_back(static_cast<double>(m.steps));
    eval_perplexity.push_back(std::exp(m.test_loss));
    eval_cpu.push_back(total);
  }
};

struct HeadRun {
  double step_cpu = 0;  // median, seconds
  double seconds = 0;   // wall time of the training steps
  double val_loss = 0, train_loss = 0;
  std::int64_t parameters = 0;
  StepClock clock;
};

HeadRun train_head(const LargeVocabSettings& s, const TextCorpus& corpus, const std::string& head,
                   std::uint64_t seed) {
  nn::GPTConfig g;
  g.n_layer = s.n_layer;
  g.n_head = s.n_head;
  g.n_embd = s.n_embd;
  g.block_size = s.block_size;
  g.bias = false;
  g.head = head;
  if (head == "adaptive") {
    g.cutoffs = s.cutoffs;
    g.div_value = s.div_value;
  }
  train::TrainConfig c;
  c.dataset = "fortunes";
  c.optimizer = "adamw";
  c.optimizer_options = {{"lr", s.lr}, {"weight_decay", 0.1}, {"beta2", 0.99}};
  c.batch = s.batch;
  c.max_steps = s.steps;
  c.warmup_steps = s.warmup;
  c.seed = seed;
  c.threads = 1;
  c.text.block_size = s.block_size;
  c.text.eval_interval = s.eval_interval;
  c.text.eval_iters = s.eval_iters;
  c.text.vocab = corpus.vocab_options;
  train::Trainer trainer(c, train::gpt_source(g, corpus.vocab_utf8(), corpus.vocab_options), corpus);
  HeadRun r;
  r.parameters = trainer.model().num_parameters();
  const train::TrainResult result = trainer.run(&r.clock);
  std::vector<double> sorted = r.clock.steps;
  std::sort(sorted.begin(), sorted.end());
  r.step_cpu = sorted.empty() ? 0.0 : sorted[sorted.size() / 2];
  for (const auto& m : result.history) r.seconds += m.seconds;
  r.val_loss = result.history.back().test_loss;
  r.train_loss = result.history.back().train_loss;
  return r;
}

ClaimOutcome measure(const LabSettings& all) {
  const LargeVocabSettings s = settings_for(all.quick);
  VocabOptions vocab;
  vocab.kind = "word";
  vocab.word.size = s.vocab_size;
  const TextCorpus corpus = load_text_dataset("fortunes", "", vocab);
  const HeadRun full = train_head(s, corpus, "full", all.seed);
  const HeadRun adaptive = train_head(s, corpus, "adaptive", all.seed);

  ClaimOutcome o;
  const double time_ratio = adaptive.step_cpu / full.step_cpu;
  const double full_ppl = std::exp(full.val_loss), adaptive_ppl = std::exp(adaptive.val_loss);
  const double ppl_ratio = adaptive_ppl / full_ppl;
  const double unknown = static_cast<double>(corpus.unknown) / static_cast<double>(corpus.characters);
  o.set("full_step_cpu_ms", 1e3 * full.step_cpu);
  o.set("adaptive_step_cpu_ms", 1e3 * adaptive.step_cpu);
  o.set("step_time_ratio", time_ratio);
  o.set("full_perplexity", full_ppl);
  o.set("adaptive_perplexity", adaptive_ppl);
  o.set("perplexity_ratio", ppl_ratio);
  o.set("vocab_size", static_cast<double>(corpus.vocab_size()));
  o.set("unknown_share", unknown);
  o.set("steps", static_cast<double>(s.steps));
  const bool cheaper = time_ratio <= kMaxStepTimeRatio, as_good = ppl_ratio <= kMaxPerplexityRatio;
  o.reproduced = cheaper && as_good;
  o.set("verdict", o.reproduced ? 1 : 0);

  o.header = {"head",       "parameters", "CPU ms / step (median)", "wall s of training",
              "train loss", "val loss",   "val perplexity"};
  for (const auto& [name, r] : {std::pair<const char*, const HeadRun*>{"full softmax (tied)", &full},
                                std::pair<const char*, const HeadRun*>{"adaptive", &adaptive}})
    o.rows.push_back({name, std::to_string(r->parameters), fmt::format("{:.1f}", 1e3 * r->step_cpu),
                      fmt::format("{:.1f}", r->seconds), fmt::format("{:.3f}", r->train_loss),
                      fmt::format("{:.3f}", r->val_loss), fmt::format("{:.0f}", std::exp(r->val_loss))});
  o.measured = fmt::format(
      "{} words: an adaptive step takes {:.2f}× the full softmax's CPU time ({:.1f} vs {:.1f} ms); val "
      "perplexity after {} steps {:.0f} vs {:.0f} ({:.2f}×)",
      corpus.vocab_size(), time_ratio, 1e3 * adaptive.step_cpu, 1e3 * full.step_cpu, s.steps, adaptive_ppl,
      full_ppl, ppl_ratio);
  o.threshold = fmt::format(
      "reproduced when the adaptive head's training step takes <= {}× the full softmax head's CPU time "
      "(median over the steps) and its val perplexity after the same steps is <= {}× the full head's",
      kMaxStepTimeRatio, kMaxPerplexityRatio);
  if (!o.reproduced)
    o.notes.push_back(fmt::format(
        "Not reproduced: {}.", !cheaper && !as_good ? "the adaptive head was neither cheap enough nor as good"
                               : !cheaper
                                   ? "the adaptive head was not cheap enough per step at this size"
                                   : "the adaptive head's perplexity was worse than the threshold allows"));
  o.notes.push_back(fmt::format(
      "A word-level GPT (bend train --model gpt --vocab word --vocab-size {}) on the fortunes corpus: {} "
      "words of text, {:.2f}% of them <unk> (cut words), {} layers, {} heads, n_embd {}, block {}, batch "
      "{}, no bias; nanoGPT's loop (AdamW lr {} with {} warm-up steps and cosine decay to lr/10, beta2 "
      "0.99, weight decay 0.1 on 2-d weights, clip 1) for {} steps, seed {}, one thread. The full head is "
      "nanoGPT's Linear tied to the token embedding; the adaptive head is AdaptiveLogSoftmaxWithLoss with "
      "cutoffs {} and div_value {} (shortlist of {} words, untied). Val loss is the mean over {} val "
      "batches; both runs see the same batches.",
      corpus.vocab_size(), corpus.characters, 100 * unknown, s.n_layer, s.n_head, s.n_embd, s.block_size,
      s.batch, s.lr, s.warmup, s.steps, all.seed, fmt::join(s.cutoffs, ","), s.div_value, s.cutoffs.front(),
      s.eval_iters));
  o.notes.push_back(fmt::format(
      "Step times are process CPU time with one thread (the median step), which other jobs on a loaded "
      "machine disturb less than wall time; the two runs are not interleaved. The step includes the whole "
      "model, so the ratio shrinks toward 1 as the body grows relative to the head. One seed, and each val "
      "loss is the mean over {} tokens, so the perplexity ratio carries a few percent of noise.",
      s.eval_iters * s.batch * s.block_size));

  plot::LineChart chart = detail::chart(
      fmt::format("Word-level GPT, {} words: val perplexity against training CPU time", corpus.vocab_size()),
      "training CPU time (s, one thread)", "val perplexity (log scale)");
  chart.y_scale = plot::Scale::Log10;
  chart.series.push_back(
      detail::series("full softmax (tied)", full.clock.eval_cpu, full.clock.eval_perplexity, 0));
  chart.series.push_back(
      detail::series("adaptive softmax", adaptive.clock.eval_cpu, adaptive.clock.eval_perplexity, 1));
  o.charts.push_back(detail::svg_chart(
      "perplexity.svg", "val perplexity at each estimate against the CPU time spent training so far", chart));
  return o;
}

}  // namespace large_vocab_detail

ClaimOutcome large_vocab_claim(const LabSettings& all, const LabData*) {
  return large_vocab_detail::measure(all);
}

}  // namespace bend::lab
