// bend::vm — branch-free float math for elementwise kernels (exp, expm1, log, log1p, tanh, sigmoid,
// erf, softplus, log_sigmoid).
//
// Why: glibc's scalar expf/tanhf/erff are calls GCC will not vectorise without -ffast-math, so a loop
// `for (i) y[i] = std::tanh(x[i])` runs one element at a time. Every function here is a short,
// always-inlined sequence of float/int arithmetic, comparisons feeding bitwise selects (which GCC turns
// into blends) and std::bit_cast exponent tricks: no tables, no libm calls, no branches. GCC 12 at -O3
// vectorises a plain loop over any of them for the SSE2 baseline and for AVX2/AVX-512 (-march=native),
// with or without FMA contraction, and without -ffast-math (NaN and inf keep their meaning).
//
// Why detail::select and not `c ? a : b`: GCC lowers a float ternary to a branch, and under the default
// -ftrapping-math it then often duplicates the following float arithmetic into each path (constant-
// folding the clamped one) and refuses to if-convert it back ("control flow in loop"), so the loop is
// not vectorised. A select made of bit operations never becomes a branch.
//
// Accuracy: each function states the largest error measured against the double-precision libm result,
// over every float input with 2^-40 <= |x| < 128 (log: every 5th positive float; log1p: up to 2^40),
// with and without FMA contraction. tests/test_vecmath.cpp re-checks these bounds on ~1e6 inputs
// (uniform over [-100, 100], geometric towards 0, transition points, random bit patterns, specials).
// "ulp" is a unit in the last place of the float result. Results that are subnormal are computed
// correctly by exp/expm1/sigmoid/softplus (no flush to zero), but with the usual lower relative accuracy
// of subnormals. A NaN input gives a NaN (its payload is not always kept). A -0 input gives -0 where the
// function is odd (expm1, log1p, tanh, erf).
//
// Polynomial coefficients were fitted for this file with a Remez exchange (minimax, in 40-digit
// arithmetic) on the stated interval and then rounded to float; the quoted errors include that rounding.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

namespace bend::vm {

namespace detail {

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr float kLog2e = 1.442695022e+00f;
// ln 2 split Cody-Waite style: kLn2Hi has only 15 significant bits, so n * kLn2Hi is exact for |n| < 512.
inline constexpr float kLn2Hi = 0.693145751953125f;  // 0x3f317200
inline constexpr float kLn2Lo = 1.428606765e-06f;    // ln 2 - kLn2Hi, rounded
// Adding then subtracting 1.5 * 2^23 rounds a float with |v| < 2^22 to the nearest integer (ties to
// even), and leaves that integer in the low mantissa bits of the intermediate sum.
inline constexpr float kRoundMagic = 0x1.8p23f;

// condition ? if_true : if_false, without a branch (see the top of the file for why).
[[gnu::always_inline]] inline float select(bool condition, float if_true, float if_false) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(condition);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(if_true) & mask) |
                              (std::bit_cast<std::uint32_t>(if_false) & ~mask));
}

// 2^k as a float, for k in [-126, 127] (built directly in the exponent field).
[[gnu::always_inline]] inline float pow2i(std::int32_t k) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(k + 127) << 23);
}

// Cody-Waite range reduction for exp-like functions: x = n * ln2 + r with n = round(x / ln2) and
// |r| <= ln2/2 (plus a rounding hair). Needs |x| < 2^21 (callers clamp x first).
struct ExpReduced {
  float r;
  std::int32_t n;
};
[[gnu::always_inline]] inline ExpReduced reduce_ln2(float x) {
  const float shifted = x * kLog2e + kRoundMagic;
  const float n = shifted - kRoundMagic;
  const std::int32_t n_int = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kRoundMagic);
  float r = x - n * kLn2Hi;  // exact: n * kLn2Hi is exact and cancels most of x
  r = r - n * kLn2Lo;
  return {r, n_int};
}

// e^r - 1 for |r| <= 0.3467 (covers ln2/2) is r + expm1_poly_tail(r), with the tail r^2 * q(r) and q
// a degree-5 minimax polynomial fitted for relative error of e^r - 1 (Cephes-style form, own
// coefficients). Max relative error 3.9e-9 before evaluation rounding; the leading r is exact, so the
// result stays accurate as r -> 0. Callers add r themselves, in the order that rounds least.
[[gnu::always_inline]] inline float expm1_poly_tail(float r) {
  float q = 1.972031750e-04f;
  q = q * r + 1.392988255e-03f;
  q = q * r + 8.333577774e-03f;
  q = q * r + 4.166648537e-02f;
  q = q * r + 1.666666567e-01f;
  q = q * r + 5.000000000e-01f;
  return (r * r) * q;
}

// expm1 for x already clamped to [-18, 89] (or NaN). e^x - 1 = 2^n * (r + tail) + (2^n - 1), written
// as 2 * ((s*r + (s - 1/2)) + s*tail) with s = 2^(n-1), so that s stays a normal float for n = 128
// (x up to 88.72 is finite). s*r is exact, s - 1/2 is exact for n <= 25 (beyond, its rounding is far
// below the result's ulp), and for n = 0 and n = 1 the inner sum s*r + (s - 1/2) is exact too, so the
// worst case (n = 1, where 2^n - 1 cancels against e^r - 1 < 0) costs a single rounding.
[[gnu::always_inline]] inline float expm1_clamped(float x) {
  const ExpReduced red = reduce_ln2(x);
  const float half_scale = pow2i(red.n - 1);
  const float tail = expm1_poly_tail(red.r);
  return 2.0f * ((half_scale * red.r + (half_scale - 0.5f)) + half_scale * tail);
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: f - f^2/2 + f^3 * p(f) with p a degree-7 minimax
// polynomial (Cephes-style form, own coefficients). Max relative error 6.7e-9 before evaluation
// rounding. Returns log1p(f) - f, so callers can add the large terms (f, e*ln2) last.
[[gnu::always_inline]] inline float log1p_poly_tail(float f) {
  // Estrin's scheme: same polynomial as Horner, but a dependency chain of 4 steps instead of 8
  // (~10% faster log on SSE2).
  const float f2 = f * f;
  const float f4 = f2 * f2;
  const float p01 = 3.333333135e-01f + -2.500082254e-01f * f;
  const float p23 = 2.000123262e-01f + -1.662329882e-01f * f;
  const float p45 = 1.420155317e-01f + -1.316058338e-01f * f;
  const float p67 = 1.276332438e-01f + -7.635652274e-02f * f;
  const float p = (p01 + p23 * f2) + (p45 + p67 * f2) * f4;
  return f * f2 * p - 0.5f * f2;  // log1p(f) - f
}

// Splits a positive normal float u as u = 2^e * m with m in [sqrt(1/2), sqrt(2)): subtracting the bits
// of sqrt(1/2) moves the mantissa range so the exponent field of the difference is e directly.
struct LogSplit {
  float m;
  std::int32_t e;
};
[[gnu::always_inline]] inline LogSplit split_log(float u) {
  constexpr std::uint32_t kSqrtHalfBits = 0x3f3504f3;
  const std::uint32_t shifted = std::bit_cast<std::uint32_t>(u) - kSqrtHalfBits;
  const std::int32_t e = static_cast<std::int32_t>(shifted) >> 23;
  const float m = std::bit_cast<float>((shifted & 0x007fffffu) + kSqrtHalfBits);
  return {m, e};
}

// log1p for x in [-1 + 2^-24, inf) or NaN; no special cases. u = 1 + x is split as 2^e * m, and
// log1p(x) = e*ln2 + log1p(m - 1) + c/u, where c = x - (u - 1) is the rounding error of 1 + x
// (the classic correction that keeps log1p accurate near 0). c/u is approximated by
// c * 2^-e * (1 - f + f^2), whose error is below 0.05 of an already tiny term.
[[gnu::always_inline]] inline float log1p_unchecked(float x) {
  const float u = 1.0f + x;
  const LogSplit s = split_log(u);
  const float f = s.m - 1.0f;  // exact (Sterbenz)
  const float e = static_cast<float>(s.e);
  const std::int32_t e_for_scale = std::min(s.e, 64);  // c/u is negligible long before 2^-64
  const float correction = (x - (u - 1.0f)) * pow2i(-e_for_scale) * (1.0f - f * (1.0f - f));
  const float tail = log1p_poly_tail(f) + (e * kLn2Lo + correction);
  return e * kLn2Hi + (f + tail);
}

[[gnu::always_inline]] inline float abs(float x) {
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) & 0x7fffffffu);
}
// |magnitude| with the sign bit of sign_source (magnitude must have a clear sign bit).
[[gnu::always_inline]] inline float with_sign_of(float magnitude, float sign_source) {
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) |
                              (std::bit_cast<std::uint32_t>(sign_source) & 0x80000000u));
}

}  // namespace detail

// e^x. Cody-Waite reduction x = n ln2 + r (|r| <= ln2/2), e^r = 1 + (r + expm1_poly_tail(r)), then 2^n
// applied as two factors 2^(n/2) * 2^(n - n/2) so that overflow, gradual underflow and subnormal results all
// come out of ordinary rounding. x > 88.7228 -> +inf, x < -103.98 -> 0, -inf -> 0, +inf -> +inf, NaN -> NaN.
// Measured max error: 0.99 ulp (relative 1.2e-7), subnormal results included.
[[gnu::always_inline]] inline float exp(float x) {
  x = detail::select(x < -104.0f, -104.0f, x);  // comparisons are false for NaN: NaN passes through
  x = detail::select(x > 89.0f, 89.0f, x);
  const detail::ExpReduced red = detail::reduce_ln2(x);
  const float mantissa = 1.0f + (red.r + detail::expm1_poly_tail(red.r));
  const std::int32_t n_half = red.n >> 1;  // n in [-150, 129] -> both factors are normal floats
  return mantissa * detail::pow2i(n_half) * detail::pow2i(red.n - n_half);
}

// e^x - 1, accurate near 0 (for |x| < 0.3466 it is r + the polynomial tail, leading term exact).
// x < -18 -> -1, x > 88.7228 -> +inf. Measured max error: 1.26 ulp (relative 1.5e-7).
[[gnu::always_inline]] inline float expm1(float x) {
  float clamped = detail::select(x < -18.0f, -18.0f, x);  // expm1(-18) rounds to -1 in float
  clamped = detail::select(clamped > 89.0f, 89.0f, clamped);
  const float result = detail::expm1_clamped(clamped);
  return detail::select(x == 0.0f, x, result);  // keep the sign of zero
}

// Natural log. x = 2^e * m with m in [sqrt(1/2), sqrt(2)) (subnormals pre-scaled by 2^23),
// log x = e*ln2 + log1p(m - 1) with ln2 split hi/lo (Cody-Waite) and a minimax polynomial for
// log1p on the reduced interval (Cephes-style). 0 -> -inf, x < 0 -> NaN, +inf -> +inf, NaN -> NaN.
// Measured max error: 0.92 ulp (relative 1.1e-7), subnormal inputs included.
[[gnu::always_inline]] inline float log(float x) {
  constexpr float kMinNormal = std::numeric_limits<float>::min();
  const bool subnormal = x < kMinNormal;
  const float scaled = detail::select(subnormal, x * 0x1p23f, x);
  const detail::LogSplit s = detail::split_log(scaled);
  const std::int32_t e_int =
      s.e - (-static_cast<std::int32_t>(subnormal) & 23);  // no multiply: SSE2 has none
  const float e = static_cast<float>(e_int);
  const float f = s.m - 1.0f;  // exact
  const float tail = detail::log1p_poly_tail(f) + e * detail::kLn2Lo;
  float result = e * detail::kLn2Hi + (f + tail);
  result = detail::select(x > 0.0f, result, detail::select(x == 0.0f, -detail::kInf, detail::kNaN));
  return detail::select(x < detail::kInf, result, x);  // +inf -> +inf, NaN -> NaN
}

// log(1 + x), accurate near 0 (see detail::log1p_unchecked for the reduction and the rounding
// correction). -1 -> -inf, x < -1 -> NaN, +inf -> +inf, NaN -> NaN.
// Measured max error: 1.01 ulp (relative 1.2e-7).
[[gnu::always_inline]] inline float log1p(float x) {
  float result = detail::log1p_unchecked(x);
  result = detail::select(x > -1.0f, result, detail::select(x == -1.0f, -detail::kInf, detail::kNaN));
  result = detail::select(x < detail::kInf, result, x);
  return detail::select(x == 0.0f, x, result);  // keep the sign of zero
}

// tanh. |x| < 0.625: tanh|x| = |x| + |x|^3 * p(x^2), p a degree-5 minimax polynomial for relative
// error (4.3e-9; it also covers tanh = 1/2, where a rounding error costs the most ulps). Elsewhere tanh|x| =
// 1 - 2 / (e + 2) with e = expm1(2|x|): the subtraction loses nothing there (2 / (e + 2) <= 1/2), and near 1
// the rounding of the small quotient hardly matters. |x| is clamped to 9.5, where tanh rounds to 1 in float
// (from 9.011 on) and 1 - 2 / (e + 2) evaluates to exactly 1: the tails are exactly +-1 and never NaN. The
// sign of x is applied last (tanh(-0) = -0). Measured max error: 1.36 ulp (relative 1.6e-7).
[[gnu::always_inline]] inline float tanh(float x) {
  float a = detail::abs(x);
  a = detail::select(a > 9.5f, 9.5f, a);  // false for NaN, which then flows through expm1
  const float u = a * a;
  float p = 2.382118488e-03f;
  p = p * u + -8.436574601e-03f;
  p = p * u + 2.180212550e-02f;
  p = p * u + -5.396399647e-02f;
  p = p * u + 1.333332658e-01f;
  p = p * u + -3.333333433e-01f;
  const float near_zero = a + (a * u) * p;
  const float e = detail::expm1_clamped(2.0f * a);
  const float elsewhere = 1.0f - 2.0f / (e + 2.0f);
  return detail::with_sign_of(detail::select(a < 0.625f, near_zero, elsewhere), x);
}

// 1 / (1 + e^-x), computed from e = e^-|x| (which never overflows) as 1/(1+e) for x >= 0 and
// e/(1+e) for x < 0: one division, no cancellation, and correct tiny (even subnormal) values for very
// negative x; sigmoid(-inf) = 0, sigmoid(+inf) = 1, NaN -> NaN.
// Measured max error: 2.4 ulp (relative 2.9e-7); the 1 ulp of exp, the sum and the division add up.
[[gnu::always_inline]] inline float sigmoid(float x) {
  const float e = vm::exp(-detail::abs(x));
  return detail::select(x >= 0.0f, 1.0f, e) / (1.0f + e);
}

// Error function. |x| < 1: erf x = x + x * p(x^2), p a degree-6 minimax polynomial for relative error
// (writing it as x + x*(2/sqrt(pi) - 1 + ...) avoids the rounding of 2/sqrt(pi) to float).
// 1 <= |x| < 3.92: erf|x| = 1 - q(|x| - 2.5), q a degree-14 minimax polynomial for erfc with absolute
// error 9.3e-9. |x| >= 3.92: +-1 exactly (erf rounds to 1 from 3.9192 on). NaN -> NaN.
// Both polynomials are evaluated with Estrin's scheme (short dependency chains: ~1.6x faster than
// Horner on SSE2, ~15% on AVX2). Measured max error: 1.3 ulp (relative 1.6e-7).
[[gnu::always_inline]] inline float erf(float x) {
  const float a = detail::abs(x);
  // small |x|: odd polynomial keeps the sign of x and is accurate relative to erf itself
  const float u = x * x;
  const float u2 = u * u;
  const float u4 = u2 * u2;
  const float p01 = 1.283791661e-01f + -3.761262596e-01f * u;
  const float p23 = 1.128358543e-01f + -2.685381286e-02f * u;
  const float p45 = 5.188327748e-03f + -8.010194870e-04f * u;
  const float p = (p01 + p23 * u2) + (p45 + 7.853865827e-05f * u2) * u4;
  const float near_zero = x + x * p;
  // 1 <= |x| < 3.92: erfc as a polynomial in t = |x| - 2.5 (centred, so |t| <= 1.5)
  const float t = a - 2.5f;
  const float t2 = t * t;
  const float t4 = t2 * t2;
  const float t8 = t4 * t4;
  const float q01 = 4.069546412e-04f + -2.178221475e-03f * t;
  const float q23 = 5.445568357e-03f + -8.351224475e-03f * t;
  const float q45 = 8.623631671e-03f + -6.111383438e-03f * t;
  const float q67 = 2.794308588e-03f + -5.563321756e-04f * t;
  const float q89 = -2.538917470e-04f + 2.671766852e-04f * t;
  const float q1011 = -8.477332449e-05f + -1.635772423e-05f * t;
  const float q1213 = 1.709276694e-05f + -7.172573078e-07f * t;
  const float q0_7 = (q01 + q23 * t2) + (q45 + q67 * t2) * t4;
  const float q8_14 = (q89 + q1011 * t2) + (q1213 + -1.090819637e-06f * t2) * t4;
  const float q = q0_7 + q8_14 * t8;
  float tail = 1.0f - q;
  tail = detail::select(tail > 1.0f, 1.0f, tail);
  tail = detail::select(a >= 3.92f, 1.0f, tail);  // false for NaN, which then flows through q
  return detail::select(a < 1.0f, near_zero, detail::with_sign_of(tail, x));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): e^-|x| is in (0, 1], so nothing overflows and both terms
// are non-negative (no cancellation). softplus(-inf) = 0, softplus(+inf) = +inf, NaN -> NaN.
// Measured max error: 1.8 ulp (relative 2.2e-7).
[[gnu::always_inline]] inline float softplus(float x) {
  const float positive_part = detail::select(x > 0.0f, x, 0.0f);
  return positive_part + detail::log1p_unchecked(vm::exp(-detail::abs(x)));
}

// log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(e^-|x|). log_sigmoid(-inf) = -inf,
// log_sigmoid(+inf) = 0, NaN -> NaN. Measured max error: 1.8 ulp (relative 2.2e-7).
[[gnu::always_inline]] inline float log_sigmoid(float x) {
  const float negative_part = detail::select(x < 0.0f, x, 0.0f);
  return negative_part - detail::log1p_unchecked(vm::exp(-detail::abs(x)));
}

}  // namespace bend::vm
