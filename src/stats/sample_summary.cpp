// Mean, sample std and the t interval of a mean (see bend/stats/sample_summary.hpp).
#include "bend/stats/sample_summary.hpp"

#include <fmt/format.h>
#include <cmath>

#include "bend/error.hpp"
#include "bend/stats/student_t.hpp"

namespace bend::stats {

double mean(std::span<const double> values) {
  if (values.empty()) throw ValueError("mean: no values");
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double sample_std(std::span<const double> values) {
  if (values.size() < 2)
    throw ValueError(fmt::format("sample_std: need at least 2 values, got {}", values.size()));
  const double m = mean(values);
  double squares = 0;  // two passes: no cancellation for values far from 0 with a small spread
  for (double v : values) squares += (v - m) * (v - m);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

SampleSummary summarize_sample(std::span<const double> values, double confidence) {
  if (values.empty()) throw ValueError("summarize_sample: no values");
  SampleSummary s;
  s.n = static_cast<int>(values.size());
  s.mean = mean(values);
  s.confidence = confidence;
  if (!s.has_spread()) return s;
  s.std = sample_std(values);
  const double half_width =
      student_t_critical(confidence, s.n - 1) * s.std / std::sqrt(static_cast<double>(s.n));
  s.ci_low = s.mean - half_width;
  s.ci_high = s.mean + half_width;
  return s;
}

}  // namespace bend::stats
