// Student's t distribution (see bend/stats/student_t.hpp).
#include "bend/stats/student_t.hpp"

#include <fmt/format.h>
#include <cmath>
#include <numbers>

#include "bend/error.hpp"
#include "bend/stats/incomplete_beta.hpp"

namespace bend::stats {
namespace {

void check_df(double df, const char* where) {
  if (!(df > 0) || !std::isfinite(df))
    throw ValueError(fmt::format("{}: degrees of freedom must be a positive number, got {}", where, df));
}

// P(T >= t) for t >= 0. Chooses the incomplete-beta argument that is computed without cancellation:
// t^2 / (df + t^2) near 0, df / (df + t^2) for large |t|.
double upper_tail(double t, double df) {
  const double t2 = t * t;
  if (t2 < df) return 0.5 * (1 - regularized_incomplete_beta(0.5, 0.5 * df, t2 / (df + t2)));
  return 0.5 * regularized_incomplete_beta(0.5 * df, 0.5, df / (df + t2));
}

// The t >= 0 with P(T >= t) = q, for 0 < q <= 0.5.
double upper_quantile(double q, double df) {
  if (q == 0.5) return 0;
  // Bracket: upper_tail falls from 0.5 at 0 towards 0; double hi until it is past the target.
  double lo = 0, hi = 1;
  while (upper_tail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return hi;  // q below what double precision resolves at this df
  }
  double t = 0.5 * (lo + hi);
  for (int iteration = 0; iteration < 300; ++iteration) {
    const double excess = upper_tail(t, df) - q;  // > 0: t is too small
    if (excess == 0) return t;
    if (excess > 0)
      lo = t;
    else
      hi = t;
    // Newton on upper_tail(t) - q (its derivative is -pdf); fall back to bisection when the step
    // leaves the bracket.
    const double density = student_t_pdf(t, df);
    double next = density > 0 ? t + excess / density : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::fabs(next - t) <= 1e-14 * std::fabs(next) || hi - lo <= 1e-15 * hi) return next;
    t = next;
  }
  return t;
}

}  // namespace

double student_t_pdf(double t, double df) {
  check_df(df, "student_t_pdf");
  const double log_norm =
      std::lgamma(0.5 * (df + 1)) - std::lgamma(0.5 * df) - 0.5 * std::log(df * std::numbers::pi);
  return std::exp(log_norm - 0.5 * (df + 1) * std::log1p(t * t / df));
}

double student_t_cdf(double t, double df) {
  check_df(df, "student_t_cdf");
  if (std::isnan(t)) throw ValueError("student_t_cdf: t is NaN");
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = upper_tail(std::fabs(t), df);
  return t >= 0 ? 1 - tail : tail;
}

double student_t_two_sided_p(double t, double df) {
  check_df(df, "student_t_two_sided_p");
  if (std::isnan(t)) throw ValueError("student_t_two_sided_p: t is NaN");
  if (std::isinf(t)) return 0;
  return std::fmin(1.0, 2 * upper_tail(std::fabs(t), df));
}

double student_t_quantile(double p, double df) {
  check_df(df, "student_t_quantile");
  if (!(p > 0 && p < 1)) throw ValueError(fmt::format("student_t_quantile: p must be in (0, 1), got {}", p));
  if (p >= 0.5) return upper_quantile(1 - p, df);
  return -upper_quantile(p, df);
}

double student_t_critical(double confidence, double df) {
  check_df(df, "student_t_critical");
  if (!(confidence > 0 && confidence < 1))
    throw ValueError(fmt::format("student_t_critical: confidence must be in (0, 1), got {}", confidence));
  return upper_quantile(0.5 * (1 - confidence), df);
}

}  // namespace bend::stats
