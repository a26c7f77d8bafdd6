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

// Mean of v (NaN when empty).
double mean_of(const std::vector<double>& v);

// The runs of one activation, optionally only those that finished without error.
std::vector<const RunRecord*> runs_of(const CompareResult& result, const std::string& act,
                                      bool successful_only);

// The summary table's header (one dead/saturated column group for `hidden` layers) and rows.
std::vector<std::string> table_header(std::size_t hidden);
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

}  // namespace bend::lab::detail
