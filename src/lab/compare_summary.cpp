// Summaries over the seeds of each activation, the ranking, and the summary table
// (see bend/lab/compare.hpp).
#include <fmt/format.h>
#include <algorithm>
#include <cmath>

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

std::string pct(double fraction, int digits = 2) {
  if (!std::isfinite(fraction)) return "n/a";
  return fmt::format("{:.{}f}%", 100 * fraction, digits);
}

std::string sci(double v) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.2e}", v);
}

std::string join_pct(const std::vector<double>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " / " : "") + pct(v[i], 1);
  return out.empty() ? "n/a" : out;
}

std::string accuracy_cell(const ActivationSummary& s) {
  if (s.runs == s.failed_runs) return "diverged";
  std::string cell = s.runs - s.failed_runs > 1 ? fmt::format("{:.2f} ± {:.2f}%", 100 * s.test_accuracy_mean,
                                                              100 * s.test_accuracy_std)
                                                : pct(s.test_accuracy_mean);
  if (s.failed_runs > 0) cell += fmt::format(" ({} of {} diverged)", s.failed_runs, s.runs);
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
}

std::string summary_table_markdown(const CompareResult& result) {
  const auto header = table_header(hidden_count(result));
  const auto rows = table_rows(result);
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

}  // namespace bend::lab
