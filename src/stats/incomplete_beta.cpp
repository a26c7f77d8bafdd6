// Regularized incomplete beta function by its continued fraction (see bend/stats/incomplete_beta.hpp).
#include "bend/stats/incomplete_beta.hpp"

#include <fmt/format.h>
#include <cmath>
#include <limits>

#include "bend/error.hpp"

namespace bend::stats {
namespace {

// The continued fraction for I_x(a, b) * a * B(a, b) / (x^a (1-x)^b), evaluated with the modified Lentz
// method. It converges quickly for x < (a + 1) / (a + b + 2); the caller swaps the arguments otherwise.
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 10000;
  constexpr double kEpsilon = 1e-16;
  constexpr double kTiny = 1e-300;  // stands in for a zero denominator (Lentz's trick)

  const double a_plus_b = a + b, a_plus_1 = a + 1, a_minus_1 = a - 1;
  double c = 1;
  double d = 1 - a_plus_b * x / a_plus_1;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double fraction = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    // Even step: coefficient m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double coefficient = m * (b - m) * x / ((a_minus_1 + m2) * (a + m2));
    d = 1 + coefficient * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + coefficient / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    fraction *= d * c;
    // Odd step: coefficient -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    coefficient = -(a + m) * (a_plus_b + m) * x / ((a + m2) * (a_plus_1 + m2));
    d = 1 + coefficient * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + coefficient / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    fraction *= delta;
    if (std::fabs(delta - 1) < kEpsilon) return fraction;
  }
  throw ValueError(
      fmt::format("regularized_incomplete_beta: continued fraction did not converge for a={}, "
                  "b={}, x={}",
                  a, b, x));
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || !std::isfinite(a) || !std::isfinite(b))
    throw ValueError(
        fmt::format("regularized_incomplete_beta: need a > 0, b > 0 and 0 <= x <= 1, got a={}, b={}, "
                    "x={}",
                    a, b, x));
  if (x == 0) return 0;
  if (x == 1) return 1;
  // x^a (1-x)^b / B(a, b), in logs to avoid overflow for large a, b.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace bend::stats
