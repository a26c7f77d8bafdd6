// Accuracy tests for bend::vm (include/bend/detail/vecmath.hpp) against the double-precision libm.
//
// Each function is swept over ~1e6 float inputs: uniform over [-100, 100], geometric towards 0 from
// both sides (down to 1e-30 and subnormals), dense neighbourhoods of the points where the
// implementation switches method or the result saturates, random bit patterns over the whole float
// range, and special values. The error of a result y against the exact (double) value r is measured in
// units of the float ulp at r: |y - r| / 2^(max(ilogb(r), -126) - 23), with +-inf counted as +-2^128 on
// both sides so that overflow near FLT_MAX is judged like any other rounding. NaN must match NaN.
//
// Tolerances are the bounds documented in vecmath.hpp (found by exhaustive runs) plus a little
// headroom. They are tight enough that a wrong constant fails: checked by hand when this was written,
// e.g. a low-order polynomial coefficient off by 0.1%, the highest-order one off by 1-10%, or
// ln2's low part off by 0.7% each fail at least one test case.
#include "bend/detail/vecmath.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <vector>

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

double ulp_error(float got, double want) {
  constexpr double kBig = 0x1p128;  // stands in for float +-inf
  const double clamped_want = std::fabs(want) > kBig ? std::copysign(kBig, want) : want;
  const double got_d = std::isinf(got) ? std::copysign(kBig, got) : static_cast<double>(got);
  if (clamped_want == 0.0) return got_d == 0.0 ? 0.0 : std::fabs(got_d) / 0x1p-149;
  const int exponent = std::max(std::ilogb(clamped_want), -126);
  return std::fabs(got_d - clamped_want) / std::ldexp(1.0, exponent - 23);
}

struct Worst {
  double ulps = 0.0;
  float input = 0.0f;
  float got = 0.0f;
  double want = 0.0;
  int nan_mismatches = 0;
  float nan_mismatch_input = 0.0f;
};

template <class Fn, class Ref>
Worst measure(Fn fn, Ref ref, const std::vector<float>& inputs) {
  // Evaluate in one loop first, as kernels will (and so that the compiler may vectorise it).
  std::vector<float> outputs(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) outputs[i] = fn(inputs[i]);
  Worst worst;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const double want = ref(static_cast<double>(inputs[i]));
    if (std::isnan(want) || std::isnan(outputs[i])) {
      if (std::isnan(want) != std::isnan(outputs[i])) {
        if (worst.nan_mismatches++ == 0) worst.nan_mismatch_input = inputs[i];
      }
      continue;
    }
    const double err = ulp_error(outputs[i], want);
    if (err > worst.ulps)
      worst = {err, inputs[i], outputs[i], want, worst.nan_mismatches, worst.nan_mismatch_input};
  }
  return worst;
}

void add_neighbourhood(std::vector<float>& out, float centre, int steps_each_side) {
  // the float ulp-neighbours of centre, then a relative +-1e-3 window around it
  float up = centre, down = centre;
  for (int i = 0; i < steps_each_side; ++i) {
    up = std::nextafter(up, kInf);
    down = std::nextafter(down, -kInf);
    out.push_back(up);
    out.push_back(down);
  }
  for (int i = -steps_each_side; i <= steps_each_side; ++i) {
    out.push_back(centre +
                  std::fabs(centre) * 1e-3f * static_cast<float>(i) / static_cast<float>(steps_each_side));
  }
}

// The shared input set: ~1e6 floats, plus function-specific kinks added by each test.
std::vector<float> base_inputs() {
  std::vector<float> in;
  in.reserve(1'100'000);
  constexpr int kUniform = 400'000;
  for (int i = 0; i <= kUniform; ++i) in.push_back(-100.0f + 200.0f * static_cast<float>(i) / kUniform);
  constexpr int kGeometric = 100'000;  // per side: 1e-30 .. 100, and subnormals below
  for (int i = 0; i <= kGeometric; ++i) {
    const float v = static_cast<float>(std::pow(10.0, -30.0 + 32.0 * i / kGeometric));
    in.push_back(v);
    in.push_back(-v);
  }
  for (double v = 0x1p-149; v < 1e-30; v *= 1.37) {
    in.push_back(static_cast<float>(v));
    in.push_back(-static_cast<float>(v));
  }
  std::mt19937 rng(12345);
  for (int i = 0; i < 200'000; ++i) in.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
  std::uniform_real_distribution<float> near_zero(-2.0f, 2.0f);
  for (int i = 0; i < 100'000; ++i) in.push_back(near_zero(rng));
  for (float v : {0.0f, 1e-30f, 1e-8f, 1e-3f, 0.5f, 1.0f, 2.0f, 10.0f, 50.0f, 88.0f, 1e4f, 1e30f,
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::max(), kInf}) {
    in.push_back(v);
    in.push_back(-v);
  }
  in.push_back(kNaN);
  in.push_back(-kNaN);
  return in;
}

const std::vector<float>& shared_inputs() {
  static const std::vector<float> inputs = base_inputs();
  return inputs;
}

template <class Fn, class Ref>
void check_accuracy(const char* name, Fn fn, Ref ref, std::initializer_list<float> kinks, double max_ulps) {
  std::vector<float> inputs = shared_inputs();
  for (float k : kinks) {
    add_neighbourhood(inputs, k, 2000);
    add_neighbourhood(inputs, -k, 2000);
  }
  const Worst w = measure(fn, ref, inputs);
  INFO(name << ": " << inputs.size() << " inputs, max error " << w.ulps << " ulp at x = " << w.input
            << " (got " << w.got << ", want " << w.want << "); " << w.nan_mismatches
            << " NaN mismatches, first at x = " << w.nan_mismatch_input);
  CHECK(w.nan_mismatches == 0);
  CHECK(w.ulps <= max_ulps);
}

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
double ref_log_sigmoid(double x) { return -ref_softplus(-x); }

bool is_negative_zero(float v) { return v == 0.0f && std::signbit(v); }
bool is_positive_zero(float v) { return v == 0.0f && !std::signbit(v); }

}  // namespace

// ln2/2 multiples are where the exp reduction changes n; 88.72 overflow, -87.34 first subnormal result,
// -103.28 / -103.97 last nonzero results.
TEST_CASE("vm::exp matches libm within 1 ulp", "[vecmath]") {
  check_accuracy(
      "exp", [](float x) { return bend::vm::exp(x); }, [](double x) { return std::exp(x); },
      {0.34657359f, 1.0397208f, 1.7328680f, 10.0f, 87.336544f, 88.7228391f, 103.278929f, 103.972077f}, 1.0);
  CHECK(bend::vm::exp(0.0f) == 1.0f);
  CHECK(bend::vm::exp(-kInf) == 0.0f);
  CHECK(bend::vm::exp(kInf) == kInf);
  CHECK(bend::vm::exp(89.0f) == kInf);
  CHECK(bend::vm::exp(1e4f) == kInf);
  CHECK(bend::vm::exp(-1e4f) == 0.0f);
  CHECK(bend::vm::exp(-100.0f) > 0.0f);  // subnormal, not flushed
  CHECK(std::isnan(bend::vm::exp(kNaN)));
}

TEST_CASE("vm::expm1 matches libm within 1.5 ulp, also near 0", "[vecmath]") {
  check_accuracy(
      "expm1", [](float x) { return bend::vm::expm1(x); }, [](double x) { return std::expm1(x); },
      {1e-3f, 0.34657359f, 1.0397208f, 17.328680f, 18.0f, 88.7228391f}, 1.5);
  CHECK(bend::vm::expm1(-kInf) == -1.0f);
  CHECK(bend::vm::expm1(kInf) == kInf);
  CHECK(bend::vm::expm1(100.0f) == kInf);
  CHECK(bend::vm::expm1(1e-30f) == 1e-30f);
  CHECK(is_negative_zero(bend::vm::expm1(-0.0f)));
  CHECK(std::isnan(bend::vm::expm1(kNaN)));
}

TEST_CASE("vm::log matches libm within 1 ulp", "[vecmath]") {
  check_accuracy(
      "log", [](float x) { return bend::vm::log(x); }, [](double x) { return std::log(x); },
      {1.0f, 0.70710678f, 1.41421356f, 2.0f, 0.5f, std::numeric_limits<float>::min()}, 1.0);
  CHECK(bend::vm::log(1.0f) == 0.0f);
  CHECK(bend::vm::log(0.0f) == -kInf);
  CHECK(bend::vm::log(-0.0f) == -kInf);
  CHECK(bend::vm::log(kInf) == kInf);
  CHECK(std::isnan(bend::vm::log(-1.0f)));
  CHECK(std::isnan(bend::vm::log(-kInf)));
  CHECK(std::isnan(bend::vm::log(kNaN)));
  CHECK(bend::vm::log(std::numeric_limits<float>::denorm_min()) == Approx(std::log(0x1p-149)).epsilon(1e-7));
}

TEST_CASE("vm::log1p matches libm within 1.1 ulp, also near 0 and -1", "[vecmath]") {
  check_accuracy(
      "log1p", [](float x) { return bend::vm::log1p(x); }, [](double x) { return std::log1p(x); },
      {1e-3f, 0.29289322f, 0.41421356f, 1.0f, 0.5f, 0.99999994f, 3.0f}, 1.1);
  CHECK(bend::vm::log1p(-1.0f) == -kInf);
  CHECK(std::isnan(bend::vm::log1p(-1.5f)));
  CHECK(std::isnan(bend::vm::log1p(-kInf)));
  CHECK(bend::vm::log1p(kInf) == kInf);
  CHECK(bend::vm::log1p(1e-30f) == 1e-30f);
  CHECK(is_negative_zero(bend::vm::log1p(-0.0f)));
  CHECK(std::isnan(bend::vm::log1p(kNaN)));
  CHECK(bend::vm::log1p(std::numeric_limits<float>::max()) == Approx(std::log1p(3.4028234663852886e38)));
}

TEST_CASE("vm::tanh matches libm within 1.5 ulp and saturates to exactly +-1", "[vecmath]") {
  check_accuracy(
      "tanh", [](float x) { return bend::vm::tanh(x); }, [](double x) { return std::tanh(x); },
      {1e-3f, 0.17328680f, 0.54930614f, 0.625f, 9.0109133f, 9.5f, 44.0f}, 1.5);
  for (float x : {9.02f, 9.5f, 10.0f, 50.0f, 88.0f, 100.0f, 1e4f, 1e30f, kInf}) {
    CHECK(bend::vm::tanh(x) == 1.0f);
    CHECK(bend::vm::tanh(-x) == -1.0f);
  }
  CHECK(bend::vm::tanh(1e-30f) == 1e-30f);
  CHECK(is_negative_zero(bend::vm::tanh(-0.0f)));
  CHECK(std::isnan(bend::vm::tanh(kNaN)));
}

TEST_CASE("vm::sigmoid matches libm within 2.5 ulp and is stable in both tails", "[vecmath]") {
  check_accuracy(
      "sigmoid", [](float x) { return bend::vm::sigmoid(x); }, ref_sigmoid,
      {1e-3f, 0.34657359f, 17.0f, 87.336544f, 88.7228391f, 103.278929f, 103.972077f}, 2.5);
  CHECK(bend::vm::sigmoid(0.0f) == 0.5f);
  CHECK(bend::vm::sigmoid(-100.0f) >= 0.0f);
  CHECK(bend::vm::sigmoid(-100.0f) < 1e-40f);
  CHECK(bend::vm::sigmoid(-1e4f) == 0.0f);
  CHECK(bend::vm::sigmoid(-kInf) == 0.0f);
  CHECK(bend::vm::sigmoid(100.0f) == 1.0f);
  CHECK(bend::vm::sigmoid(kInf) == 1.0f);
  CHECK(std::isnan(bend::vm::sigmoid(kNaN)));
}

TEST_CASE("vm::erf matches libm within 1.5 ulp and saturates to exactly +-1", "[vecmath]") {
  check_accuracy(
      "erf", [](float x) { return bend::vm::erf(x); }, [](double x) { return std::erf(x); },
      {1e-3f, 0.5f, 1.0f, 2.5f, 3.9192058f, 3.92f}, 1.5);
  for (float x : {3.92f, 4.0f, 10.0f, 100.0f, 1e30f, kInf}) {
    CHECK(bend::vm::erf(x) == 1.0f);
    CHECK(bend::vm::erf(-x) == -1.0f);
  }
  CHECK(bend::vm::erf(1e-30f) == Approx(1.1283791671e-30).epsilon(1e-7));
  CHECK(is_negative_zero(bend::vm::erf(-0.0f)));
  CHECK(std::isnan(bend::vm::erf(kNaN)));
}

TEST_CASE("vm::softplus matches libm within 2 ulp and never overflows", "[vecmath]") {
  check_accuracy(
      "softplus", [](float x) { return bend::vm::softplus(x); }, ref_softplus,
      {1e-3f, 1.0f, 16.6f, 87.336544f, 88.7228391f, 103.278929f}, 2.0);
  CHECK(bend::vm::softplus(0.0f) == Approx(0.69314718056));
  CHECK(bend::vm::softplus(100.0f) == 100.0f);
  CHECK(bend::vm::softplus(1e30f) == 1e30f);
  CHECK(bend::vm::softplus(kInf) == kInf);
  CHECK(is_positive_zero(bend::vm::softplus(-kInf)));
  CHECK(bend::vm::softplus(-100.0f) > 0.0f);
  CHECK(std::isnan(bend::vm::softplus(kNaN)));
}

TEST_CASE("vm::log_sigmoid matches libm within 2 ulp", "[vecmath]") {
  check_accuracy(
      "log_sigmoid", [](float x) { return bend::vm::log_sigmoid(x); }, ref_log_sigmoid,
      {1e-3f, 1.0f, 16.6f, 87.336544f, 88.7228391f, 103.278929f}, 2.0);
  CHECK(bend::vm::log_sigmoid(-100.0f) == -100.0f);
  CHECK(bend::vm::log_sigmoid(-kInf) == -kInf);
  CHECK(bend::vm::log_sigmoid(kInf) == 0.0f);
  CHECK(std::isnan(bend::vm::log_sigmoid(kNaN)));
}

}  // namespace BEND_UNITY_ID
