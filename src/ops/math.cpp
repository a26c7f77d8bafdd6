// Elementwise math: neg, exp, log, sqrt, reciprocal, pow, clamp. Each is a pointwise function (value
// and derivative side by side) run by apply_pointwise.
#include <cmath>

#include "bend/detail/vecmath.hpp"
#include "bend/ops.hpp"
#include "bend/pointwise.hpp"

namespace bend {
namespace {

struct Neg {
  static float value(float x, const PointwiseParams&) { return -x; }
  static float derivative(float, float, const PointwiseParams&) { return -1.0f; }
};
struct Exp {
  static float value(float x, const PointwiseParams&) { return vm::exp(x); }
  static float derivative(float, float y, const PointwiseParams&) { return y; }
};
struct Log {
  static float value(float x, const PointwiseParams&) { return vm::log(x); }
  static float derivative(float x, float, const PointwiseParams&) { return 1.0f / x; }
};
struct Sqrt {
  static float value(float x, const PointwiseParams&) { return std::sqrt(x); }
  static float derivative(float, float y, const PointwiseParams&) { return 0.5f / y; }
};
struct Reciprocal {
  static float value(float x, const PointwiseParams&) { return 1.0f / x; }
  static float derivative(float, float y, const PointwiseParams&) { return -y * y; }
};
// a = exponent
struct PowScalar {
  static float value(float x, const PointwiseParams& p) { return std::pow(x, p.a); }
  static float derivative(float x, float, const PointwiseParams& p) {
    return p.a == 0.0f ? 0.0f : p.a * std::pow(x, p.a - 1.0f);
  }
};
struct Square {
  static float value(float x, const PointwiseParams&) { return x * x; }
  static float derivative(float x, float, const PointwiseParams&) { return 2.0f * x; }
};
// a = lo, b = hi; like torch.clamp, the gradient passes where lo <= x <= hi.
struct Clamp {
  static float value(float x, const PointwiseParams& p) { return x < p.a ? p.a : (x > p.b ? p.b : x); }
  static float derivative(float x, float, const PointwiseParams& p) {
    return (x >= p.a && x <= p.b) ? 1.0f : 0.0f;
  }
};

constexpr PointwiseKernel kNeg = make_pointwise_kernel<Neg>("neg");
constexpr PointwiseKernel kExp = make_pointwise_kernel<Exp>("exp");
constexpr PointwiseKernel kLog = make_pointwise_kernel<Log>("log");
constexpr PointwiseKernel kSqrt = make_pointwise_kernel<Sqrt>("sqrt");
constexpr PointwiseKernel kReciprocal = make_pointwise_kernel<Reciprocal>("reciprocal");
constexpr PointwiseKernel kPow = make_pointwise_kernel<PowScalar>("pow");
constexpr PointwiseKernel kSquare = make_pointwise_kernel<Square>("pow");
constexpr PointwiseKernel kClamp = make_pointwise_kernel<Clamp>("clamp");

}  // namespace

Tensor neg(const Tensor& a) { return apply_pointwise(a, kNeg); }
Tensor exp(const Tensor& a) { return apply_pointwise(a, kExp); }
Tensor log(const Tensor& a) { return apply_pointwise(a, kLog); }
Tensor sqrt(const Tensor& a) { return apply_pointwise(a, kSqrt); }
Tensor reciprocal(const Tensor& a) { return apply_pointwise(a, kReciprocal); }
Tensor pow(const Tensor& a, float exponent) {
  if (exponent == 2.0f) return apply_pointwise(a, kSquare);
  return apply_pointwise(a, kPow, {exponent});
}
Tensor clamp(const Tensor& a, float lo, float hi) { return apply_pointwise(a, kClamp, {lo, hi}); }

}  // namespace bend
