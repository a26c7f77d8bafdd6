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

}  // namespace detail

namespace {

using detail::hidden_count;
using detail::kNaN;
using detail::mean_of;
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

std::string accuracy_cell(const ActivationSummary& s) {
  const int diverged = s.failed_runs - s.missing_runs;
  if (s.runs == s.failed_runs)
    return s.missing_runs == 0 ? "diverged" : diverged == 0 ? "no result" : "diverged / no result";
  std::string cell = s.runs - s.failed_runs > 1 ? fmt::format("{:.2f} ± {:.2f}%", 100 * s.test_accuracy_mean,
                                                              100 * s.test_accuracy_std)
                                                : percent_text(s.test_accuracy_mean);
  if (diverged > 0) cell += fmt::format(" ({} of {} diverged)", diverged, s.runs);
  if (s.missing_runs > 0) cell += fmt::format(" ({} of {} without a result)", s.missing_runs, s.runs);
  return cell;
}

}  // namespace

namespace detail {

std::vector<std::string> table_header(std::size_t hidden) {
  std::string layers;
  for (std::size_t i = 0; i < hidden; ++i) layers += (i ? "/" : "") + fmt::format("L{}", i + 1);
  return {"activation",
          "test acc (mean ± std)",
          "best epoch",
          "final train loss",
          "s/epoch",
          fmt::format("dead {}", layers),
          fmt::format("saturated {}", layers),
          "grad ratio first/last"};
}

std::vector<std::vector<std::string>> table_rows(const CompareResult& result) {
  std::vector<std::vector<std::string>> rows;
  for (const ActivationSummary& s : result.summary)
    rows.push_back({s.activation, accuracy_cell(s), s.best_epoch > 0 ? std::to_string(s.best_epoch) : "n/a",
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
    text += fmt::format("{}. {} — {}\n", ++place, act, accuracy_cell(*it));
  }
  return text;
}

static std::string percent_or_note(const stats::SampleSummary& s, bool interval) {
  if (s.n == 0) return "no successful run";
  if (!interval)
    return s.has_spread() ? fmt::format("{:.2f} ± {:.2f}%", 100 * s.mean, 100 * s.std) : percent_text(s.mean);
  if (!s.has_spread()) return "needs ≥ 2 seeds";
  return fmt::format("[{:.2f}, {:.2f}]%", 100 * s.ci_low, 100 * s.ci_high);
}

static std::string p_text(double p) { return p < 1e-4 ? std::string("< 0.0001") : fmt::format("{:.4f}", p); }

StatisticsText statistics_text(const CompareResult& result) {
  const stats::SeedComparison& c = result.statistics;
  StatisticsText out;
  out.interval_header = {
      "activation",     "seeds used", "final acc (mean ± std)", "final acc 95% CI", "best acc (mean ± std)",
      "best acc 95% CI"};
  for (const ActivationSummary& s : result.summary)
    out.interval_rows.push_back(
        {s.activation, fmt::format("{} of {}", s.runs - s.failed_runs, s.runs),
         percent_or_note(s.final_accuracy, false), percent_or_note(s.final_accuracy, true),
         percent_or_note(s.best_accuracy, false), percent_or_note(s.best_accuracy, true)});
  out.pair_header = {"pair (better − worse)", "seeds",    "mean diff", "95% CI",
                     "p (paired t)",          "p (Holm)", "verdict",   "seeds to resolve"};
  for (const stats::PairResult& p : c.pairs) {
    // Orient each pair so that the difference is positive: the better mean first.
    const bool flip = p.test.mean_difference < 0;
    const std::string& better = c.names[flip ? p.second : p.first];
    const std::string& worse = c.names[flip ? p.first : p.second];
    const double sign = flip ? -1 : 1;
    std::vector<std::string> row{better + " − " + worse, std::to_string(p.test.n)};
    if (!p.test.enough_pairs()) {
      row.insert(row.end(),
                 {p.test.n == 1 ? fmt::format("{:.2f} pp", 100 * sign * p.test.mean_difference) : "n/a",
                  "n/a", "n/a", "n/a", "needs ≥ 2 seeds", "n/a"});
    } else {
      const double lo = sign > 0 ? p.test.ci_low : -p.test.ci_high,
                   hi = sign > 0 ? p.test.ci_high : -p.test.ci_low;
      std::string verdict = p.resolved ? "resolved" : "not resolved";
      if (p.test.zero_variance) verdict += " (same gap at every seed)";
      row.insert(row.end(), {fmt::format("{:.2f} pp", 100 * sign * p.test.mean_difference),
                             fmt::format("[{:.2f}, {:.2f}] pp", 100 * lo, 100 * hi), p_text(p.test.p_value),
                             p_text(p.p_holm), verdict,
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
      const bool flip = p.test.mean_difference < 0;
      const std::string gap =
          fmt::format("{} − {} = {:.2f} pp (std of the paired differences {:.2f} pp)",
                      c.names[flip ? p.second : p.first], c.names[flip ? p.first : p.second],
                      100 * std::fabs(p.test.mean_difference), 100 * p.test.std_difference);
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
    std::vector<double> acc, loss, secs, ratio;
    std::size_t epochs = 0, hidden = 0, linears = 0;
    for (const RunRecord* r : ok) {
      acc.push_back(r->history.back().test_accuracy);
      loss.push_back(r->history.back().train_loss);
      for (const auto& m : r->history) secs.push_back(m.seconds);
      ratio.push_back(r->diagnostics.back().grad_norm_ratio);
      epochs = std::max(epochs, r->history.size());
      hidden = std::max(hidden, r->diagnostics.back().hidden().size());
      linears = std::max(linears, r->diagnostics.back().layers.size());
    }
    std::vector<double> best;
    for (const RunRecord* r : ok) {
      double b = r->history.front().test_accuracy;
      for (const auto& m : r->history) b = std::max(b, m.test_accuracy);
      best.push_back(b);
    }
    if (!acc.empty()) {
      s.final_accuracy = stats::summarize_sample(acc);
      s.best_accuracy = stats::summarize_sample(best);
    }
    s.test_accuracy_mean = mean_of(acc);
    s.test_accuracy_std = std_of(acc);
    s.final_train_loss = mean_of(loss);
    s.seconds_per_epoch = mean_of(secs);
    s.grad_norm_ratio = mean_of(ratio);
    s.best_test_accuracy = kNaN;
    for (std::size_t e = 0; e < epochs; ++e) {
      std::vector<double> at;
      for (const RunRecord* r : ok)
        if (e < r->history.size()) at.push_back(r->history[e].test_accuracy);
      const double m = mean_of(at);
      if (s.best_epoch == 0 || m > s.best_test_accuracy) {
        s.best_test_accuracy = m;
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
  std::stable_sort(order.begin(), order.end(), [](const ActivationSummary* a, const ActivationSummary* b) {
    const double x = std::isfinite(a->test_accuracy_mean) ? a->test_accuracy_mean : -1.0;
    const double y = std::isfinite(b->test_accuracy_mean) ? b->test_accuracy_mean : -1.0;
    return x > y;
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
    scores[a][k] = r.history.back().test_accuracy;
  }
  result.statistics = stats::compare_over_seeds(acts, scores);
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
  return markdown_table(table_header(hidden_count(result)), table_rows(result));
}

std::string statistics_markdown(const CompareResult& result) {
  const detail::StatisticsText t = detail::statistics_text(result);
  std::string md;
  for (const std::string& line : t.lines) md += line + "\n\n";
  md +=
      "Test accuracy over seeds (std: sample std; CI: Student's t interval of the mean; best: each run's "
      "best "
      "epoch):\n\n";
  md += markdown_table(t.interval_header, t.interval_rows);
  if (!t.pair_rows.empty()) {
    md += "\nPairwise, the last epoch's test accuracy compared seed by seed (pp: percentage points):\n\n";
    md += markdown_table(t.pair_header, t.pair_rows);
  }
  return md;
}

}  // namespace bend::lab
