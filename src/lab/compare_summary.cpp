// Summaries over the seeds of each activation, the ranking, and the summary table
// (see bend/lab/compare.hpp).
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <optional>

#include "bend/lab/compare.hpp"
#include "compare_detail.hpp"

namespace bend::lab {
namespace detail {

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::vector<const RunRecord*> runs_of(const CompareResult& result, const std::string& act,
                                      bool successful_only) {
  std::vector<const RunRecord*> out;
  for (const RunRecord& r : result.runs)
    if (r.activation == act && (!successful_only || (r.error.empty() && !r.history.empty())))
      out.push_back(&r);
  return out;
}

std::string MetricText::value(double v) const {
  if (!std::isfinite(v)) return "n/a";
  return accuracy() ? fmt::format("{:.2f}%", 100 * v) : fmt::format("{:.4f}", v);
}

std::string MetricText::value_pm(double mean, double std) const {
  return accuracy() ? fmt::format("{:.2f} ± {:.2f}%", 100 * mean, 100 * std)
                    : fmt::format("{:.4f} ± {:.4f}", mean, std);
}

std::string MetricText::difference(double d) const {
  return accuracy() ? fmt::format("{:.2f} pp", 100 * d) : fmt::format("{:.4f} nats", d);
}

std::string MetricText::interval(double lo, double hi) const {
  return accuracy() ? fmt::format("[{:.2f}, {:.2f}] pp", 100 * lo, 100 * hi)
                    : fmt::format("[{:.4f}, {:.4f}] nats", lo, hi);
}

}  // namespace detail

namespace {

using detail::hidden_count;
using detail::kNaN;
using detail::mean_of;
using detail::MetricText;
using detail::runs_of;
using detail::table_header;
using detail::table_rows;

// Sample standard deviation (0 for a single value).
double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return v.empty() ? kNaN : 0.0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

std::string percent_text(double fraction, int digits = 2) {
  if (!std::isfinite(fraction)) return "n/a";
  return fmt::format("{:.{}f}%", 100 * fraction, digits);
}

std::string sci(double v) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.2e}", v);
}

std::string join_pct(const std::vector<double>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " / " : "") + percent_text(v[i], 1);
  return out.empty() ? "n/a" : out;
}

// The metric's final value over the seeds ("98.12 ± 0.05%", "1.8234 ± 0.0041"), with the runs left out.
std::string score_cell(const ActivationSummary& s, const detail::MetricText& metric) {
  const int diverged = s.failed_runs - s.missing_runs;
  if (s.runs == s.failed_runs)
    return s.missing_runs == 0 ? "diverged" : diverged == 0 ? "no result" : "diverged / no result";
  std::string cell = s.final_score.has_spread() ? metric.value_pm(s.final_score.mean, s.final_score.std)
                                                : metric.value(s.final_score.mean);
  if (diverged > 0) cell += fmt::format(" ({} of {} diverged)", diverged, s.runs);
  if (s.missing_runs > 0) cell += fmt::format(" ({} of {} without a result)", s.missing_runs, s.runs);
  return cell;
}

}  // namespace

namespace detail {

std::vector<std::string> table_header(std::size_t hidden, CompareMetric metric) {
  std::string layers;
  for (std::size_t i = 0; i < hidden; ++i) layers += (i ? "/" : "") + fmt::format("L{}", i + 1);
  const bool accuracy = metric == CompareMetric::TestAccuracy;
  return {"activation",
          accuracy ? "test acc (mean ± std)" : "val loss (mean ± std)",
          accuracy ? "best epoch" : "best estimate",
          "final train loss",
          accuracy ? "s/epoch" : "s/estimate",
          fmt::format("dead {}", layers),
          fmt::format("saturated {}", layers),
          "grad ratio first/last"};
}

std::vector<std::vector<std::string>> table_rows(const CompareResult& result) {
  std::vector<std::vector<std::string>> rows;
  for (const ActivationSummary& s : result.summary)
    rows.push_back({s.activation, score_cell(s, {result.metric}),
                    s.best_epoch > 0 ? std::to_string(s.best_epoch) : "n/a",
                    std::isfinite(s.final_train_loss) ? fmt::format("{:.4f}", s.final_train_loss) : "n/a",
                    std::isfinite(s.seconds_per_epoch) ? fmt::format("{:.2f}", s.seconds_per_epoch) : "n/a",
                    join_pct(s.dead_fraction), join_pct(s.saturated_fraction), sci(s.grad_norm_ratio)});
  return rows;
}

std::size_t hidden_count(const CompareResult& result) {
  std::size_t n = 0;
  for (const auto& s : result.summary) n = std::max(n, s.dead_fraction.size());
  return n;
}

std::string ranking_text(const CompareResult& result) {
  std::string text;
  int place = 0;
  for (const std::string& act : result.ranking) {
    const auto it = std::find_if(result.summary.begin(), result.summary.end(),
                                 [&](const ActivationSummary& s) { return s.activation == act; });
    text += fmt::format("{}. {} — {}\n", ++place, act, score_cell(*it, {result.metric}));
  }
  return text;
}

static std::string score_or_note(const stats::SampleSummary& s, bool interval, const MetricText& metric) {
  if (s.n == 0) return "no successful run";
  if (!interval) return s.has_spread() ? metric.value_pm(s.mean, s.std) : metric.value(s.mean);
  if (!s.has_spread()) return "needs ≥ 2 seeds";
  return metric.accuracy() ? fmt::format("[{:.2f}, {:.2f}]%", 100 * s.ci_low, 100 * s.ci_high)
                           : fmt::format("[{:.4f}, {:.4f}]", s.ci_low, s.ci_high);
}

static std::string p_text(double p) { return p < 1e-4 ? std::string("< 0.0001") : fmt::format("{:.4f}", p); }

std::string interval_note(const MetricText& metric) {
  return metric.accuracy()
             ? "Test accuracy over seeds (std: sample std; CI: Student's t interval of the mean; "
               "best: each run's best epoch)"
             : "Val loss over seeds (std: sample std; CI: Student's t interval of the mean; best: "
               "each run's lowest estimate)";
}

std::string pair_note(const MetricText& metric) {
  return metric.accuracy()
             ? "Pairwise, the last epoch's test accuracy compared seed by seed (pp: percentage points)"
             : "Pairwise, the last estimate's val loss compared seed by seed, the lower first (nats: the "
               "loss's "
               "natural-log units)";
}

StatisticsText statistics_text(const CompareResult& result) {
  const stats::SeedComparison& c = result.statistics;
  const MetricText metric{result.metric};
  const std::string m = metric.short_name();
  StatisticsText out;
  out.interval_header = {"activation",
                         "seeds used",
                         fmt::format("final {} (mean ± std)", m),
                         fmt::format("final {} 95% CI", m),
                         fmt::format("best {} (mean ± std)", m),
                         fmt::format("best {} 95% CI", m)};
  for (const ActivationSummary& s : result.summary)
    out.interval_rows.push_back(
        {s.activation, fmt::format("{} of {}", s.runs - s.failed_runs, s.runs),
         score_or_note(s.final_score, false, metric), score_or_note(s.final_score, true, metric),
         score_or_note(s.best_score, false, metric), score_or_note(s.best_score, true, metric)});
  out.pair_header = {"pair (better − worse)", "seeds",    "mean diff", "95% CI",
                     "p (paired t)",          "p (Holm)", "verdict",   "seeds to resolve"};
  for (const stats::PairResult& p : c.pairs) {
    // Orient each pair so that the better mean comes first: the difference is then positive for
    // accuracy and negative for a loss.
    const bool flip = metric.higher_is_better() ? p.test.mean_difference < 0 : p.test.mean_difference > 0;
    const std::string& better = c.names[flip ? p.second : p.first];
    const std::string& worse = c.names[flip ? p.first : p.second];
    const double sign = flip ? -1 : 1;
    std::vector<std::string> row{better + " − " + worse, std::to_string(p.test.n)};
    if (!p.test.enough_pairs()) {
      row.insert(row.end(), {p.test.n == 1 ? metric.difference(sign * p.test.mean_difference) : "n/a", "n/a",
                             "n/a", "n/a", "needs ≥ 2 seeds", "n/a"});
    } else {
      const double lo = sign > 0 ? p.test.ci_low : -p.test.ci_high,
                   hi = sign > 0 ? p.test.ci_high : -p.test.ci_low;
      std::string verdict = p.resolved ? "resolved" : "not resolved";
      if (p.test.zero_variance) verdict += " (same gap at every seed)";
      row.insert(row.end(), {metric.difference(sign * p.test.mean_difference), metric.interval(lo, hi),
                             p_text(p.test.p_value), p_text(p.p_holm), verdict,
                             p.resolved                    ? "—"
                             : p.seeds_needed              ? fmt::format("~{}", *p.seeds_needed)
                             : p.test.mean_difference == 0 ? "never (equal means)"
                                                           : "> 1000000"});
    }
    out.pair_rows.push_back(std::move(row));
  }

  const int seeds = c.max_seeds();
  if (!c.has_statistics()) {
    out.lines.push_back(
        fmt::format("Statistics need at least 2 seeds: this sweep has {} successful run{} per activation at "
                    "most, so there "
                    "are no intervals, paired tests or groups. Run with --seeds 2 or more (5 or more to "
                    "resolve small gaps).",
                    seeds, seeds == 1 ? "" : "s"));
  } else {
    out.lines.push_back(
        fmt::format("Ranking at {} seeds (≈: not told apart by a paired t-test at α = {:g} after "
                    "Holm's correction across {} pairs): {}",
                    seeds, c.settings.alpha, c.pairs.size(), stats::ranking_line(c)));
    if (c.closest_unresolved) {
      const stats::PairResult& p = c.pairs[*c.closest_unresolved];
      const bool flip = metric.higher_is_better() ? p.test.mean_difference < 0 : p.test.mean_difference > 0;
      const std::string gap =
          fmt::format("{} − {} = {} (std of the paired differences {})", c.names[flip ? p.second : p.first],
                      c.names[flip ? p.first : p.second],
                      metric.difference(flip ? -p.test.mean_difference : p.test.mean_difference),
                      metric.difference(p.test.std_difference));
      if (p.seeds_needed)
        out.lines.push_back(fmt::format(
            "The smallest unresolved gap, {}, needs about {} seeds to resolve (paired t-test, α = {:g} per "
            "comparison, power {:g}, from the measured variance; Holm's correction across pairs asks for "
            "more).",
            gap, *p.seeds_needed, c.settings.alpha, c.settings.power));
      else
        out.lines.push_back(
            fmt::format("The smallest unresolved gap, {}, cannot be resolved by more seeds{}.", gap,
                        p.test.mean_difference == 0 ? ": the means are equal" : " within a million runs"));
    } else if (!c.pairs.empty()) {
      out.lines.push_back(fmt::format("Every pair is resolved at {} seeds.", seeds));
    }
  }
  std::string diverged, missing;
  for (const RunRecord& r : result.runs) {
    std::string& list = r.failed ? missing : diverged;
    if (!r.error.empty() || r.history.empty())
      list += fmt::format("{}{} seed {}", list.empty() ? "" : ", ", r.activation, r.seed);
  }
  if (!diverged.empty())
    out.lines.push_back("Diverged runs, left out of the means, intervals and paired tests: " + diverged +
                        ".");
  if (!missing.empty())
    out.lines.push_back(
        "Runs without a result (they failed; `bend compare --resume` runs them again), left out "
        "of the means, intervals and paired tests: " +
        missing + ".");
  return out;
}

}  // namespace detail

void summarize(CompareResult& result) {
  result.summary.clear();
  std::vector<std::string> acts;
  for (const RunRecord& r : result.runs)
    if (std::find(acts.begin(), acts.end(), r.activation) == acts.end()) acts.push_back(r.activation);
  for (const std::string& act : acts) {
    ActivationSummary s;
    s.activation = act;
    s.runs = static_cast<int>(runs_of(result, act, false).size());
    const auto ok = runs_of(result, act, true);
    s.failed_runs = s.runs - static_cast<int>(ok.size());
    for (const RunRecord* r : runs_of(result, act, false)) s.missing_runs += r->failed;
    const MetricText metric{result.metric};
    std::vector<double> acc, score, loss, secs, ratio;
    std::size_t epochs = 0, hidden = 0, linears = 0;
    for (const RunRecord* r : ok) {
      acc.push_back(r->history.back().test_accuracy);
      score.push_back(metric.of(r->history.back()));
      loss.push_back(r->history.back().train_loss);
      for (const auto& m : r->history) secs.push_back(m.seconds);
      ratio.push_back(r->diagnostics.back().grad_norm_ratio);
      epochs = std::max(epochs, r->history.size());
      hidden = std::max(hidden, r->diagnostics.back().hidden().size());
      linears = std::max(linears, r->diagnostics.back().layers.size());
    }
    std::vector<double> best, best_score;
    for (const RunRecord* r : ok) {
      double b = r->history.front().test_accuracy, bs = metric.of(r->history.front());
      for (const auto& m : r->history) {
        b = std::max(b, m.test_accuracy);
        if (metric.better(metric.of(m), bs)) bs = metric.of(m);
      }
      best.push_back(b);
      best_score.push_back(bs);
    }
    if (!acc.empty()) {
      if (metric.accuracy()) {  // a language model measures no accuracy
        s.final_accuracy = stats::summarize_sample(acc);
        s.best_accuracy = stats::summarize_sample(best);
      }
      s.final_score = stats::summarize_sample(score);
      s.best_score = stats::summarize_sample(best_score);
    }
    s.test_accuracy_mean = mean_of(acc);
    s.test_accuracy_std = std_of(acc);
    s.final_train_loss = mean_of(loss);
    s.seconds_per_epoch = mean_of(secs);
    s.grad_norm_ratio = mean_of(ratio);
    s.best_test_accuracy = kNaN;
    double best_mean = kNaN;  // the best epoch's seed-mean metric
    for (std::size_t e = 0; e < epochs; ++e) {
      std::vector<double> at, accuracy_at;
      for (const RunRecord* r : ok)
        if (e < r->history.size()) {
          at.push_back(metric.of(r->history[e]));
          accuracy_at.push_back(r->history[e].test_accuracy);
        }
      const double m = mean_of(at);
      if (s.best_epoch == 0 || metric.better(m, best_mean)) {
        best_mean = m;
        s.best_test_accuracy = mean_of(accuracy_at);
        s.best_epoch = static_cast<std::int64_t>(e) + 1;
      }
    }
    for (std::size_t h = 0; h < hidden; ++h) {
      std::vector<double> dead, sat;
      for (const RunRecord* r : ok) {
        const auto hl = r->diagnostics.back().hidden();
        if (h < hl.size()) {
          dead.push_back(hl[h]->dead_fraction);
          sat.push_back(hl[h]->saturated_fraction);
        }
      }
      s.dead_fraction.push_back(mean_of(dead));
      s.saturated_fraction.push_back(mean_of(sat));
    }
    for (std::size_t k = 0; k < linears; ++k) {
      std::vector<double> now, init;
      for (const RunRecord* r : ok) {
        if (k < r->diagnostics.back().layers.size())
          now.push_back(r->diagnostics.back().layers[k].weight_grad_norm);
        if (k < r->initial.layers.size()) init.push_back(r->initial.layers[k].weight_grad_norm);
      }
      s.grad_norms.push_back(mean_of(now));
      s.initial_grad_norms.push_back(mean_of(init));
    }
    result.summary.push_back(std::move(s));
  }
  result.ranking.clear();
  std::vector<const ActivationSummary*> order;
  for (const auto& s : result.summary) order.push_back(&s);
  const MetricText metric{result.metric};
  std::stable_sort(order.begin(), order.end(), [&](const ActivationSummary* a, const ActivationSummary* b) {
    // Activations without a result go last.
    const bool x = a->final_score.n > 0 && std::isfinite(a->final_score.mean);
    const bool y = b->final_score.n > 0 && std::isfinite(b->final_score.mean);
    if (x != y) return x;
    return x && metric.better(a->final_score.mean, b->final_score.mean);
  });
  for (const auto* s : order) result.ranking.push_back(s->activation);

  // Paired statistics over the seeds every activation ran (a failed run leaves a gap).
  std::vector<std::uint64_t> seeds;
  for (const RunRecord& r : result.runs)
    if (std::find(seeds.begin(), seeds.end(), r.seed) == seeds.end()) seeds.push_back(r.seed);
  std::vector<std::vector<std::optional<double>>> scores(acts.size(),
                                                         std::vector<std::optional<double>>(seeds.size()));
  for (const RunRecord& r : result.runs) {
    if (!r.error.empty() || r.history.empty()) continue;
    const auto a = static_cast<std::size_t>(std::find(acts.begin(), acts.end(), r.activation) - acts.begin());
    const auto k = static_cast<std::size_t>(std::find(seeds.begin(), seeds.end(), r.seed) - seeds.begin());
    scores[a][k] = metric.of(r.history.back());
  }
  stats::ComparisonSettings settings;
  settings.higher_is_better = metric.higher_is_better();
  result.statistics = stats::compare_over_seeds(acts, scores, settings);
}

namespace {

// A Markdown table: the first column left-aligned, the others (numbers) right-aligned.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows) {
  std::string text = "|";
  for (const auto& h : header) text += " " + h + " |";
  text += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) text += i == 0 ? "---|" : "---:|";
  text += "\n";
  for (const auto& row : rows) {
    text += "|";
    for (const auto& cell : row) text += " " + cell + " |";
    text += "\n";
  }
  return text;
}

}  // namespace

std::string summary_table_markdown(const CompareResult& result) {
  return markdown_table(table_header(hidden_count(result), result.metric), table_rows(result));
}

std::string statistics_markdown(const CompareResult& result) {
  const detail::StatisticsText t = detail::statistics_text(result);
  std::string md;
  for (const std::string& line : t.lines) md += line + "\n\n";
  const detail::MetricText metric{result.metric};
  md += detail::interval_note(metric) + ":\n\n";
  md += markdown_table(t.interval_header, t.interval_rows);
  if (!t.pair_rows.empty()) {
    md += "\n" + detail::pair_note(metric) + ":\n\n";
    md += markdown_table(t.pair_header, t.pair_rows);
  }
  return md;
}

}  // namespace bend::lab
