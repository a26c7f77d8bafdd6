#pragma once
// Shared by the compare sources (not installed): the summary arithmetic and table pieces that both
// compare_summary.cpp and the report files in compare_report.cpp use.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "bend/lab/compare.hpp"

namespace bend::lab::detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// How a sweep's metric reads in the reports: test accuracy in % (differences in percentage points), or
// val loss in nats (differences in nats); which direction is better.
struct MetricText {
  CompareMetric metric = CompareMetric::TestAccuracy;

  bool higher_is_better() const { return metric == CompareMetric::TestAccuracy; }
  bool accuracy() const { return metric == CompareMetric::TestAccuracy; }
  std::string name() const { return accuracy() ? "test accuracy" : "val loss"; }  // "final test accuracy"
  std::string short_name() const { return accuracy() ? "acc" : "val loss"; }
  // The run's metric at one evaluation.
  double of(const train::EpochMetrics& m) const { return accuracy() ? m.test_accuracy : m.test_loss; }
  // Whether a is better than b.
  bool better(double a, double b) const { return accuracy() ? a > b : a < b; }
  std::string value(double v) const;                    // "98.12%", "1.8234"
  std::string value_pm(double mean, double std) const;  // "98.12 ± 0.05%", "1.8234 ± 0.0041"
  std::string difference(double d) const;               // "0.12 pp", "0.0123 nats"
  std::string interval(double lo, double hi) const;     // "[0.10, 0.14] pp", "[0.0101, 0.0145] nats"
};

// Mean of v (NaN when empty).
double mean_of(const std::vector<double>& v);

// The runs of one activation, optionally only those that finished without error.
std::vector<const RunRecord*> runs_of(const CompareResult& result, const std::string& act,
                                      bool successful_only);

// The summary table's header (one dead/saturated column group for `hidden` layers) and rows.
std::vector<std::string> table_header(std::size_t hidden, CompareMetric metric);
std::vector<std::vector<std::string>> table_rows(const CompareResult& result);

// The most hidden layers of any activation's summary.
std::size_t hidden_count(const CompareResult& result);

// "1. relu — 97.10%\n2. ..." in ranking order.
std::string ranking_text(const CompareResult& result);

// The statistics tables (header + rows) and lines shared by report.md and index.html.
struct StatisticsText {
  std::vector<std::string> interval_header;
  std::vector<std::vector<std::string>> interval_rows;
  std::vector<std::string> pair_header;
  std::vector<std::vector<std::string>> pair_rows;
  std::vector<std::string> lines;  // ranking in groups, seeds needed, notes (plain text, one per line)
};
StatisticsText statistics_text(const CompareResult& result);
// The sentences before the interval table and the pairwise table (no final colon).
std::string interval_note(const MetricText& metric);
std::string pair_note(const MetricText& metric);

}  // namespace bend::lab::detail
