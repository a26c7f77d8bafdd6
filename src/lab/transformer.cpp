// bend lab transformer: GELU / SiLU / SwiGLU against ReLU inside a small vision transformer, decided by
// compare's paired tests with Holm's correction (see bend/lab/transformer.hpp).
#include "bend/lab/transformer.hpp"

#include "bend/lab/claims.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/error.hpp"
#include "bend/lab/compare.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

ClaimOutcome transformer_claim(const LabSettings& all, const LabData* mnist_data) {
  const TransformerSettings& s = all.transformer;
  const LabData& mnist = *mnist_data;
  if (s.seeds < 2)
    throw ValueError(fmt::format("lab transformer: a paired test needs >= 2 seeds, got {}", s.seeds));
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
  const CompareResult result = run_compare(options, data.train, data.test);
  const stats::SeedComparison& c = result.statistics;

  ClaimOutcome o;
  o.header = {"activation", "test accuracy (mean ± std, %)",  "gap to relu (points)",       "Holm p",
              "resolved",   "seeds a paired test would need", "dead FF units (last block)", "s/epoch"};
  int better = 0, worse = 0, needed = 0;
  std::vector<std::string> unsettled;
  const std::size_t base = 0;
  for (std::size_t a = 0; a < c.names.size(); ++a) {
    const std::string& act = c.names[a];
    const stats::SampleSummary& sum = c.summaries[a];
    const ActivationSummary& summary = result.summary[a];
    o.set(act + "_accuracy", sum.mean);
    std::string gap = "-", p = "-", resolved = "-", seeds = "-";
    if (a != base) {
      const stats::PairResult& pair = c.pair(base, a);
      // Differences are first - second: pair.first is the lower index, relu (0).
      const double diff = -pair.test.mean_difference;
      o.set(act + "_minus_relu", diff);
      o.set(act + "_p_holm", pair.p_holm);
      o.set(act + "_seeds_needed", pair.resolved ? 0.0 : static_cast<double>(pair.seeds_needed.value_or(0)));
      gap = fmt::format("{:+.2f}", 100 * diff);
      p = fmt::format("{:.3g}", pair.p_holm);
      resolved = pair.resolved ? "yes" : "no";
      if (pair.resolved && diff > 0) ++better;
      if (pair.resolved && diff <= 0) ++worse;
      if (!pair.resolved) {
        unsettled.push_back(act);
        if (pair.seeds_needed) {
          seeds = std::to_string(*pair.seeds_needed);
          needed = std::max(needed, *pair.seeds_needed);
        } else {
          seeds = "more than 10^6 (or no gap)";
        }
      }
    }
    const std::string dead = summary.dead_fraction.empty()
                                 ? std::string("-")
                                 : fmt::format("{:.1f}%", 100 * summary.dead_fraction.back());
    o.rows.push_back({act, fmt::format("{:.2f} ± {:.2f}", 100 * sum.mean, 100 * sum.std), gap, p, resolved,
                      seeds, dead, fmt::format("{:.1f}", summary.seconds_per_epoch)});
  }
  const int challengers = static_cast<int>(c.names.size()) - 1;
  o.set("seeds", s.seeds);
  std::string verdict;
  if (better == challengers) {
    o.reproduced = true;
    verdict = "reproduced";
    o.set("verdict", 1);
  } else if (worse > 0) {
    verdict = "not reproduced";
    o.set("verdict", 0);
  } else {
    o.not_settled(s.seeds, needed);
    o.notes.push_back(fmt::format("Unresolved against {}: {}.", s.baseline, fmt::join(unsettled, ", ")));
    o.set("verdict", -1);
  }
  verdict = verdict_text(o);
  std::vector<std::string> parts;
  for (std::size_t a = 1; a < c.names.size(); ++a)
    parts.push_back(fmt::format("{} {:+.2f} points vs relu (Holm p {:.3g})", c.names[a],
                                100 * o.number(c.names[a] + "_minus_relu"),
                                o.number(c.names[a] + "_p_holm")));
  o.measured =
      fmt::format("relu {:.2f}% over {} seeds; {}; ranking {}", 100 * o.number(s.baseline + "_accuracy"),
                  s.seeds, fmt::join(parts, "; "), stats::ranking_line(c));
  o.threshold = fmt::format(
      "paired t-tests over seeds of the final test accuracy, Holm-corrected at alpha {}: reproduced when "
      "each of {} beats {} significantly; not reproduced when one is significantly no better; otherwise "
      "not settled",
      c.settings.alpha, fmt::join(s.challengers, ", "), s.baseline);
  o.notes.push_back(fmt::format(
      "Model {} (the feed-forward activation is the one compared; swiglu is the gated block), Adam lr {} "
      "with "
      "cosine decay, batch {}, {} epochs on the first {} MNIST training images, tested on {} images, seeds "
      "{}..{}. Verdict: {}.",
      s.arch, s.lr, s.batch, s.epochs, data.train.size(), data.test.size(), all.seed,
      all.seed + static_cast<std::uint64_t>(s.seeds) - 1, verdict));

  // Test accuracy per epoch, mean over the seeds, per activation.
  plot::LineChart curves = detail::chart("ViT on MNIST: test accuracy by feed-forward activation", "epoch",
                                         "test accuracy (%, mean over seeds)");
  for (std::size_t a = 0; a < options.activations.size(); ++a) {
    std::vector<double> sum(static_cast<std::size_t>(s.epochs), 0.0);
    std::vector<int> count(sum.size(), 0);
    for (const RunRecord& r : result.runs)
      if (r.activation == options.activations[a])
        for (std::size_t e = 0; e < r.history.size() && e < sum.size(); ++e) {
          sum[e] += r.history[e].test_accuracy;
          ++count[e];
        }
    std::vector<double> x, y;
    for (std::size_t e = 0; e < sum.size(); ++e)
      if (count[e] > 0) {
        x.push_back(static_cast<double>(e + 1));
        y.push_back(100 * sum[e] / count[e]);
      }
    curves.series.push_back(detail::series(options.activations[a], x, y, a));
  }
  o.charts.push_back(detail::svg_chart("accuracy.svg", "test accuracy per epoch, mean over seeds", curves));
  return o;
}

}  // namespace bend::lab
