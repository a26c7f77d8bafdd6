// bend lab transformer: GELU / SiLU / SwiGLU against ReLU inside a small vision transformer and a
// character-level GPT, each decided by compare's paired tests with Holm's correction (see
// bend/lab/transformer.hpp).
#include "bend/lab/transformer.hpp"

#include "bend/lab/claims.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/data/registry.hpp"
#include "bend/error.hpp"
#include "bend/lab/compare.hpp"
#include "bend/parallel.hpp"
#include "claim_charts.hpp"

namespace bend::lab {
namespace {

// One part's verdict from its sweep: the challengers against the baseline (the sweep's first activation).
struct PartDecision {
  int verdict = -1;  // 1 reproduced, 0 not reproduced, -1 not settled
  int needed = 0;    // seeds the largest unresolved gap would need (0: none known)
  std::vector<std::string> unsettled;
};

// The challenger a's paired mean gain over the baseline: > 0 is better (higher accuracy, lower loss).
double gain(const stats::SeedComparison& c, std::size_t a) {
  // Differences are first − second, and pair.first is the lower index: the baseline (0).
  const double baseline_minus_a = c.pair(0, a).test.mean_difference;
  return c.settings.higher_is_better ? -baseline_minus_a : baseline_minus_a;
}

PartDecision decide(const stats::SeedComparison& c) {
  PartDecision d;
  int better = 0, worse = 0;
  for (std::size_t a = 1; a < c.names.size(); ++a) {
    const stats::PairResult& pair = c.pair(0, a);
    if (pair.resolved && gain(c, a) > 0) ++better;
    if (pair.resolved && gain(c, a) <= 0) ++worse;
    if (!pair.resolved) {
      d.unsettled.push_back(c.names[a]);
      if (pair.seeds_needed) d.needed = std::max(d.needed, *pair.seeds_needed);
    }
  }
  d.verdict = better == static_cast<int>(c.names.size()) - 1 ? 1 : worse > 0 ? 0 : -1;
  return d;
}

std::string part_verdict_text(const PartDecision& d, int seeds) {
  if (d.verdict == 1) return "reproduced";
  if (d.verdict == 0) return "not reproduced";
  return d.needed > 0
             ? fmt::format("not settled at {} seeds (a paired test would need about {})", seeds, d.needed)
             : fmt::format("not settled at {} seeds", seeds);
}

// The table's cells for a pair against the baseline: Holm p, resolved, seeds needed.
std::vector<std::string> pair_cells(const stats::SeedComparison& c, std::size_t a) {
  if (a == 0) return {"-", "-", "-"};
  const stats::PairResult& pair = c.pair(0, a);
  return {fmt::format("{:.3g}", pair.p_holm), pair.resolved ? "yes" : "no",
          pair.resolved       ? "-"
          : pair.seeds_needed ? std::to_string(*pair.seeds_needed)
                              : "more than 10^6 (or no gap)"};
}

std::string dead_cell(const ActivationSummary& summary) {
  return summary.dead_fraction.empty() ? std::string("-")
                                       : fmt::format("{:.1f}%", 100 * summary.dead_fraction.back());
}

// The seed-mean of `value` per evaluation for each activation: x from `x_of`.
plot::LineChart curves_chart(const CompareResult& result, const std::vector<std::string>& acts,
                             plot::LineChart chart, double (*value)(const train::EpochMetrics&),
                             double (*x_of)(const train::EpochMetrics&)) {
  for (std::size_t a = 0; a < acts.size(); ++a) {
    std::vector<double> x, sum;
    std::vector<int> count;
    for (const RunRecord& r : result.runs) {
      if (r.activation != acts[a] || !r.error.empty()) continue;
      for (std::size_t e = 0; e < r.history.size(); ++e) {
        if (e >= sum.size()) {
          x.push_back(x_of(r.history[e]));
          sum.push_back(0);
          count.push_back(0);
        }
        sum[e] += value(r.history[e]);
        ++count[e];
      }
    }
    std::vector<double> y;
    for (std::size_t e = 0; e < sum.size(); ++e) y.push_back(sum[e] / count[e]);
    chart.series.push_back(detail::series(acts[a], x, y, a));
  }
  return chart;
}

// The vision part: the ViT on MNIST.
struct VisionPart {
  CompareResult result;
  std::vector<std::string> acts;
  PartDecision decision;
  std::int64_t train_images = 0, test_images = 0;
};

VisionPart vision_part(const LabSettings& all, const LabData& mnist) {
  const TransformerSettings& s = all.transformer;
  const LabData data = limit_data(mnist, {s.train_limit, s.test_limit});
  CompareOptions options;
  options.base.dataset.clear();
  options.base.batch = s.batch;
  options.base.epochs = s.epochs;
  options.base.optimizer_options["lr"] = s.lr;
  options.base.threads = s.threads;
  options.base.seed = all.seed;
  options.arch = s.arch;
  options.activations = {s.baseline};
  options.activations.insert(options.activations.end(), s.challengers.begin(), s.challengers.end());
  options.seeds = s.seeds;
  options.probe_size = std::min<std::int64_t>(256, data.test.size());
  VisionPart part;
  part.result = run_compare(options, data.train, data.test);
  part.acts = options.activations;
  part.decision = decide(part.result.statistics);
  part.train_images = data.train.size();
  part.test_images = data.test.size();
  return part;
}

// The language part: the char GPT on the fortunes corpus.
struct TextPart {
  CompareResult result;
  std::vector<std::string> acts;
  PartDecision decision;
  CompareOptions options;
};

TextPart text_part(const LabSettings& all, TextCorpus corpus) {
  const TransformerSettings& s = all.transformer;
  const TransformerTextSettings& t = s.text;
  TextPart part;
  part.options.corpus = std::make_shared<const TextCorpus>(std::move(corpus));
  CompareOptions& o = part.options;
  o.gpt.n_layer = t.n_layer;
  o.gpt.n_head = t.n_head;
  o.gpt.n_embd = t.n_embd;
  o.gpt.block_size = t.block_size;
  o.gpt.bias = false;  // nanoGPT's train.py
  o.gpt.dropout = 0;
  o.base.dataset = t.dataset;
  o.base.optimizer = "adamw";
  o.base.optimizer_options = {{"lr", t.lr}, {"weight_decay", 0.1}, {"beta2", 0.99}};
  o.base.batch = t.batch;
  o.base.max_steps = t.steps;
  o.base.warmup_steps = t.warmup;
  o.base.threads = t.threads;
  o.base.seed = all.seed;
  o.base.text.block_size = t.block_size;
  o.base.text.eval_interval = std::max<std::int64_t>(1, t.steps / 4);
  o.base.text.eval_iters = t.eval_iters;
  o.base.text.min_lr = -1;  // lr / 10
  o.base.text.grad_clip = 1.0;
  o.activations = {s.baseline};
  o.activations.insert(o.activations.end(), s.challengers.begin(), s.challengers.end());
  o.seeds = t.seeds;
  o.probe_size = 16;
  // The runs one per core: each run's numbers do not depend on how many run at once.
  o.jobs = std::max(1, std::min(cores_available(), static_cast<int>(o.activations.size()) * t.seeds));
  part.result = run_compare(o, {}, {});
  part.acts = o.activations;
  part.decision = decide(part.result.statistics);
  return part;
}

}  // namespace

ClaimOutcome transformer_claim(const LabSettings& all, const LabData* mnist_data) {
  const TransformerSettings& s = all.transformer;
  if (s.seeds < 2 || (s.text.enabled && s.text.seeds < 2))
    throw ValueError(fmt::format("lab transformer: a paired test needs >= 2 seeds, got {} (ViT) and {} (GPT)",
                                 s.seeds, s.text.seeds));
  ClaimOutcome o;
  o.header = {"model",
              "activation",
              "final score (mean ± std)",
              "gain over relu",
              "Holm p",
              "resolved",
              "seeds a paired test would need",
              "dead FF units (last block)",
              "s/epoch or estimate"};

  // Vision: the ViT on MNIST, final test accuracy.
  const VisionPart vit = vision_part(all, *mnist_data);
  const stats::SeedComparison& c = vit.result.statistics;
  for (std::size_t a = 0; a < c.names.size(); ++a) {
    const std::string& act = c.names[a];
    const stats::SampleSummary& sum = c.summaries[a];
    o.set(act + "_accuracy", sum.mean);
    std::string gap = "-";
    if (a != 0) {
      const stats::PairResult& pair = c.pair(0, a);
      o.set(act + "_minus_relu", gain(c, a));
      o.set(act + "_p_holm", pair.p_holm);
      o.set(act + "_seeds_needed", pair.resolved ? 0.0 : static_cast<double>(pair.seeds_needed.value_or(0)));
      gap = fmt::format("{:+.2f} points", 100 * gain(c, a));
    }
    std::vector<std::string> row = {"ViT on MNIST", act,
                                    fmt::format("{:.2f} ± {:.2f}%", 100 * sum.mean, 100 * sum.std), gap};
    for (std::string& cell : pair_cells(c, a)) row.push_back(std::move(cell));
    row.push_back(dead_cell(vit.result.summary[a]));
    row.push_back(fmt::format("{:.1f}", vit.result.summary[a].seconds_per_epoch));
    o.rows.push_back(std::move(row));
  }
  o.set("seeds", s.seeds);
  o.set("vit_verdict", vit.decision.verdict);
  std::vector<std::string> parts;
  for (std::size_t a = 1; a < c.names.size(); ++a)
    parts.push_back(
        fmt::format("{} {:+.2f} points (Holm p {:.3g})", c.names[a], 100 * gain(c, a), c.pair(0, a).p_holm));
  const std::string vit_verdict = part_verdict_text(vit.decision, s.seeds);
  o.measured = fmt::format("ViT on MNIST: relu {:.2f}% over {} seeds; {}; ranking {}: {}",
                           100 * o.number(s.baseline + "_accuracy"), s.seeds, fmt::join(parts, "; "),
                           stats::ranking_line(c), vit_verdict);
  o.notes.push_back(fmt::format(
      "ViT: model {} (the feed-forward activation is the one compared; swiglu is the gated block), Adam lr "
      "{} with cosine decay, batch {}, {} epochs on the first {} MNIST training images, tested on {} images, "
      "seeds {}..{}. Verdict of this part: {}.",
      s.arch, s.lr, s.batch, s.epochs, vit.train_images, vit.test_images, all.seed,
      all.seed + static_cast<std::uint64_t>(s.seeds) - 1, vit_verdict));
  plot::LineChart vit_chart = detail::chart("ViT on MNIST: test accuracy by feed-forward activation", "epoch",
                                            "test accuracy (%, mean over seeds)");
  o.charts.push_back(detail::svg_chart(
      "accuracy.svg", "ViT: test accuracy per epoch, mean over seeds",
      curves_chart(
          vit.result, vit.acts, vit_chart, [](const train::EpochMetrics& m) { return 100 * m.test_accuracy; },
          [](const train::EpochMetrics& m) { return static_cast<double>(m.epoch); })));

  // Language: the char GPT on the fortunes corpus, final val loss (lower is better).
  std::optional<TextCorpus> corpus;
  std::string missing;
  if (s.text.enabled) try {
      corpus = load_text_dataset(s.text.dataset, "");
    } catch (const Error& e) {
      missing = e.what();
    }
  std::optional<TextPart> lm;
  if (corpus) lm = text_part(all, std::move(*corpus));
  o.set("lm_measured", lm ? 1 : 0);
  if (lm) {
    const stats::SeedComparison& t = lm->result.statistics;
    const TransformerTextSettings& ts = s.text;
    for (std::size_t a = 0; a < t.names.size(); ++a) {
      const std::string& act = t.names[a];
      const stats::SampleSummary& sum = t.summaries[a];
      o.set("lm_" + act + "_val_loss", sum.mean);
      std::string gap = "-";
      if (a != 0) {
        const stats::PairResult& pair = t.pair(0, a);
        o.set("lm_" + act + "_gain", gain(t, a));
        o.set("lm_" + act + "_p_holm", pair.p_holm);
        o.set("lm_" + act + "_seeds_needed",
              pair.resolved ? 0.0 : static_cast<double>(pair.seeds_needed.value_or(0)));
        gap = fmt::format("{:+.4f} nats", gain(t, a));
      }
      std::vector<std::string> row = {"GPT on " + ts.dataset, act,
                                      fmt::format("{:.4f} ± {:.4f} nats", sum.mean, sum.std), gap};
      for (std::string& cell : pair_cells(t, a)) row.push_back(std::move(cell));
      row.push_back(dead_cell(lm->result.summary[a]));
      row.push_back(fmt::format("{:.1f}", lm->result.summary[a].seconds_per_epoch));
      o.rows.push_back(std::move(row));
    }
    o.set("lm_seeds", ts.seeds);
    o.set("lm_verdict", lm->decision.verdict);
    std::vector<std::string> lm_parts;
    for (std::size_t a = 1; a < t.names.size(); ++a)
      lm_parts.push_back(
          fmt::format("{} {:+.4f} nats (Holm p {:.3g})", t.names[a], gain(t, a), t.pair(0, a).p_holm));
    const std::string lm_verdict = part_verdict_text(lm->decision, ts.seeds);
    o.measured +=
        fmt::format(". GPT on {}: relu val loss {:.4f} over {} seeds; gain over relu: {}; ranking {}: {}",
                    ts.dataset, o.number("lm_" + s.baseline + "_val_loss"), ts.seeds,
                    fmt::join(lm_parts, "; "), stats::ranking_line(t), lm_verdict);
    o.notes.push_back(fmt::format(
        "GPT: the character-level GPT of bend train --model gpt on {} ({} characters, vocabulary {}): {} "
        "layers, "
        "{} heads, n_embd {}, block {}, no bias, the MLP's activation compared (swiglu: the gated MLP); "
        "nanoGPT's loop: AdamW lr {} (weight decay 0.1 on 2-d weights, beta2 0.99), warm-up {} steps then "
        "cosine to lr/10, clip 1, batch {}, {} steps; val loss estimated over {} batches; seeds {}..{}. "
        "Verdict of this part: {}.",
        ts.dataset, lm->options.corpus->characters, lm->options.corpus->vocab_size(), ts.n_layer, ts.n_head,
        ts.n_embd, ts.block_size, ts.lr, ts.warmup, ts.batch, ts.steps, ts.eval_iters, all.seed,
        all.seed + static_cast<std::uint64_t>(ts.seeds) - 1, lm_verdict));
    plot::LineChart lm_chart = detail::chart("GPT on " + ts.dataset + ": val loss by MLP activation", "step",
                                             "val loss (nats, mean over seeds)");
    o.charts.push_back(detail::svg_chart(
        "val_loss.svg", "GPT: val loss per estimate, mean over seeds",
        curves_chart(
            lm->result, lm->acts, lm_chart, [](const train::EpochMetrics& m) { return m.test_loss; },
            [](const train::EpochMetrics& m) { return static_cast<double>(m.steps); })));
  } else {
    o.measured += s.text.enabled ? fmt::format(". GPT on {}: not measured ({})", s.text.dataset, missing)
                                 : ". GPT: not measured (turned off)";
    o.notes.push_back("The language-model part was not measured; the verdict rests on the ViT alone.");
  }

  // The claim: a counterexample in either part refutes it; both parts must reproduce it.
  const int vit_v = vit.decision.verdict, lm_v = lm ? lm->decision.verdict : 1;
  if (vit_v == 0 || lm_v == 0) {
    o.reproduced = false;
    o.set("verdict", 0);
  } else if (vit_v == 1 && lm_v == 1) {
    o.reproduced = true;
    o.set("verdict", 1);
  } else {
    // The unsettled part (the one that needs more seeds when both are).
    const bool lm_unsettled = lm && lm_v == -1;
    const bool use_lm = lm_unsettled && (vit_v != -1 || lm->decision.needed >= vit.decision.needed);
    o.not_settled(use_lm ? s.text.seeds : s.seeds, use_lm ? lm->decision.needed : vit.decision.needed);
    std::vector<std::string> unsettled;
    for (const std::string& a : vit_v == -1 ? vit.decision.unsettled : std::vector<std::string>{})
      unsettled.push_back("ViT " + a);
    if (lm_unsettled)
      for (const std::string& a : lm->decision.unsettled) unsettled.push_back("GPT " + a);
    o.notes.push_back(fmt::format("Unresolved against {}: {}.", s.baseline, fmt::join(unsettled, ", ")));
    o.set("verdict", -1);
  }
  o.threshold = fmt::format(
      "paired t-tests over seeds, Holm-corrected at alpha {}, of the ViT's final test accuracy and the GPT's "
      "final val loss: a part reproduces the claim when each of {} beats {} significantly, refutes it when "
      "one "
      "is significantly no better; the claim is reproduced when both parts reproduce it, not reproduced when "
      "one refutes it, otherwise not settled",
      c.settings.alpha, fmt::join(s.challengers, ", "), s.baseline);
  return o;
}

}  // namespace bend::lab
