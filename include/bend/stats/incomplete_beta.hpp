#pragma once
// The regularized incomplete beta function I_x(a, b), the building block of Student's t distribution.

namespace bend::stats {

// I_x(a, b) = B(x; a, b) / B(a, b) for a > 0, b > 0, 0 <= x <= 1, in double precision (relative error
// about 1e-14 away from the ends). Evaluated with a continued fraction (modified Lentz), using the
// symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges faster. Throws ValueError for
// arguments outside the domain (including NaN).
double regularized_incomplete_beta(double a, double b, double x);

}  // namespace bend::stats
