// The activation table: every entry's value and derivative against reference formulas written here in
// double (PyTorch's conventions at the kinks), no NaN/inf for any finite input, gradcheck through
// activate(), gradient accumulation, and the metadata (gain, max_derivative, properties) re-derived
// numerically. The tests iterate the table, so a new entry is tested as soon as it has a reference
// below (and fails until it has one). Also: the functional forms with non-default parameters, the
// prelu op (single and per-channel weight) and glu.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "bend/activations.hpp"
#include "bend/bend.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using bend::testing::check_close;
using bend::testing::random_tensor;
using bend::testing::require_gradcheck;

namespace {

// ---------------------------------------------------------------------------------------------------
// Reference formulas in double, written from the definitions (and PyTorch's backward formulas for which
// side of a kink the derivative takes), independently of src/activations.cpp.

struct Reference {
  double (*value)(double x, const PointwiseParams& p);
  double (*derivative)(double x, const PointwiseParams& p);
};

double sigmoid_ref(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}
double sigmoid_prime_ref(double x) {  // e/(1+e)² with e = exp(-|x|): no cancellation in either tail
  const double e = std::exp(-std::abs(x));
  return e / ((1.0 + e) * (1.0 + e));
}
double tanh_prime_ref(double x) {
  const double e = std::exp(-2.0 * std::abs(x));
  return 4.0 * e / ((1.0 + e) * (1.0 + e));
}
double softplus_ref(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kPi = 3.14159265358979323846;

const std::map<std::string, Reference>& references() {
  using P = PointwiseParams;
  static const std::map<std::string, Reference> refs = {
      {"sigmoid",
       {[](double x, const P&) { return sigmoid_ref(x); },
        [](double x, const P&) { return sigmoid_prime_ref(x); }}},
      {"tanh",
       {[](double x, const P&) { return std::tanh(x); },
        [](double x, const P&) { return tanh_prime_ref(x); }}},
      {"relu",
       {[](double x, const P&) { return x > 0 ? x : 0.0; },
        [](double x, const P&) { return x > 0 ? 1.0 : 0.0; }}},
      {"leaky_relu",
       {[](double x, const P& p) { return x > 0 ? x : p.a * x; },
        [](double x, const P& p) { return x > 0 ? 1.0 : double(p.a); }}},
      {"prelu",
       {[](double x, const P& p) { return x > 0 ? x : p.a * x; },
        [](double x, const P& p) { return x > 0 ? 1.0 : double(p.a); }}},
      {"gelu",
       {[](double x, const P&) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); },
        [](double x, const P&) {
          const double pdf = x * x > 1e4 ? 0.0 : std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi);
          return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * pdf;
        }}},
      {"gelu_tanh",
       {[](double x, const P&) {
          const double u = std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x);
          return 0.5 * x * (1.0 + std::tanh(u));
        },
        [](double x, const P&) {
          const double u = std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x);
          const double du = std::sqrt(2.0 / kPi) * (1.0 + 3.0 * 0.044715 * x * x);
          const double t = std::tanh(u);
          return 0.5 * (1.0 + t) + (std::abs(x) > 1e3 ? 0.0 : 0.5 * x * (1.0 - t * t) * du);
        }}},
      {"silu",
       {[](double x, const P&) { return x * sigmoid_ref(x); },
        [](double x, const P&) {
          return sigmoid_ref(x) + (std::abs(x) > 1e3 ? 0.0 : x * sigmoid_prime_ref(x));
        }}},
      {"mish",
       {[](double x, const P&) { return x * std::tanh(softplus_ref(x)); },
        [](double x, const P&) {
          const double t = std::tanh(softplus_ref(x));
          return t + (std::abs(x) > 1e3 ? 0.0 : x * sigmoid_ref(x) * (1.0 - t * t));
        }}},
      {"elu",
       {[](double x, const P& p) { return x > 0 ? x : p.a * std::expm1(x); },
        [](double x, const P& p) { return x > 0 ? 1.0 : p.a * std::exp(x); }}},
      {"celu",
       {[](double x, const P& p) { return x > 0 ? x : p.a * std::expm1(x / p.a); },
        [](double x, const P& p) { return x > 0 ? 1.0 : std::exp(x / p.a); }}},
      {"selu",
       {[](double x, const P&) { return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); },
        [](double x, const P&) { return x > 0 ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x); }}},
      {"softplus",
       {[](double x, const P& p) { return p.a * x > p.b ? x : softplus_ref(p.a * x) / p.a; },
        [](double x, const P& p) { return p.a * x > p.b ? 1.0 : sigmoid_ref(p.a * x); }}},
      {"softsign",
       {[](double x, const P&) { return x / (1.0 + std::abs(x)); },
        [](double x, const P&) { return 1.0 / ((1.0 + std::abs(x)) * (1.0 + std::abs(x))); }}},
      {"relu6",
       {[](double x, const P&) { return std::min(std::max(x, 0.0), 6.0); },
        [](double x, const P&) { return x > 0 && x < 6 ? 1.0 : 0.0; }}},
      {"hardtanh",
       {[](double x, const P& p) { return std::min(std::max(x, double(p.a)), double(p.b)); },
        [](double x, const P& p) { return x > p.a && x < p.b ? 1.0 : 0.0; }}},
      {"hardswish",
       {[](double x, const P&) { return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; },
        [](double x, const P&) { return x < -3 ? 0.0 : (x <= 3 ? x / 3.0 + 0.5 : 1.0); }}},
      {"hardsigmoid",
       {[](double x, const P&) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; },
        [](double x, const P&) { return x > -3 && x < 3 ? 1.0 / 6.0 : 0.0; }}},
      {"hardshrink",
       {[](double x, const P& p) { return std::abs(x) <= p.a ? 0.0 : x; },
        [](double x, const P& p) { return std::abs(x) <= p.a ? 0.0 : 1.0; }}},
      {"softshrink",
       {[](double x, const P& p) { return x > p.a ? x - p.a : (x < -p.a ? x + p.a : 0.0); },
        [](double x, const P& p) { return std::abs(x) <= p.a ? 0.0 : 1.0; }}},
      {"tanhshrink",
       {[](double x, const P&) {
          if (std::abs(x) < 1e-2) {  // series: x - tanh x cancels to x³/3 in double too
            const double x2 = x * x;
            return x * x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * 17.0 / 315.0));
          }
          return x - std::tanh(x);
        },
        [](double x, const P&) { return std::tanh(x) * std::tanh(x); }}},
      {"logsigmoid",
       {[](double x, const P&) { return std::min(x, 0.0) - std::log1p(std::exp(-std::abs(x))); },
        [](double x, const P&) { return sigmoid_ref(-x); }}},
      {"threshold",
       {[](double x, const P& p) { return x <= p.a ? double(p.b) : x; },
        [](double x, const P& p) { return x <= p.a ? 0.0 : 1.0; }}},
  };
  return refs;
}

const Reference& reference_for(const ActivationInfo& info) {
  const auto it = references().find(std::string(info.name));
  INFO("table entry '" << info.name << "' has no reference formula in tests/test_activations.cpp: add one");
  REQUIRE(it != references().end());
  return it->second;
}

// The kernel's value and derivative at each point (straight through the kernel's loops).
struct Evaluated {
  std::vector<float> value, derivative;
};
Evaluated evaluate(const PointwiseKernel& k, const std::vector<float>& xs, const PointwiseParams& p) {
  Evaluated e{std::vector<float>(xs.size()), std::vector<float>(xs.size())};
  const auto n = static_cast<std::int64_t>(xs.size());
  k.forward(xs.data(), e.value.data(), n, p);
  k.derivative(xs.data(), e.value.data(), e.derivative.data(), n, p);
  return e;
}

// Tolerance for comparing with the double reference: 1e-5 relative, plus an absolute 1e-6 · min(1, |x|)
// for results that cancel (e.g. 1 + erf(x/√2) for x < -3, x - tanh(x)) or pass through zero (the roots of
// GELU', SiLU', Mish'). For |x| < 1 the absolute part shrinks with x, so tiny inputs are checked relatively.
bool close(double got, double ref, double x) {
  return std::abs(got - ref) <= 1e-5 * std::abs(ref) + 1e-6 * std::min(1.0, std::abs(x));
}

// The grid of the brief: tails, the usual magnitudes, small values, every kink of every entry (±λ, ±3,
// 0, 6, ±1, the softplus threshold) and random points.
std::vector<float> test_grid() {
  std::vector<float> xs = {0.0f, -0.0f, 3e38f, -3e38f};
  for (float m : {1e4f,    50.0f,   20.0f,   10.0f,   6.0f,    5.0f,    3.0f,    2.0f,     1.5f,     1.0f,
                  0.75f,   0.5f,    0.25f,   0.1f,    1e-3f,   1e-6f,   1e-20f,  20.0001f, 19.9999f, 6.0001f,
                  5.9999f, 3.0001f, 2.9999f, 1.0001f, 0.9999f, 0.5001f, 0.4999f, 1e-4f}) {
    xs.push_back(m);
    xs.push_back(-m);
  }
  Rng rng(2024);
  for (int i = 0; i < 300; ++i) xs.push_back(rng.uniform(-8.0f, 8.0f));
  for (int i = 0; i < 100; ++i) xs.push_back(rng.uniform(-60.0f, 60.0f));
  return xs;
}

std::vector<float> dense_grid(float lo, float hi, float step) {
  std::vector<float> xs;
  for (float x = lo; x <= hi; x += step) xs.push_back(x);  // steps of 2^-k stay exact
  return xs;
}

float value_at(const ActivationInfo& info, float x) {
  float y = 0.0f;
  info.kernel.forward(&x, &y, 1, info.defaults);
  return y;
}
float derivative_at(const ActivationInfo& info, float x) {
  float y = value_at(info, x), d = 0.0f;
  info.kernel.derivative(&x, &y, &d, 1, info.defaults);
  return d;
}

}  // namespace

TEST_CASE("activation table: order, names, lookup", "[activations]") {
  const auto table = activation_table();
  REQUIRE(table.size() >= 23);
  const char* docs[] = {"sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"};
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(table[i].name == docs[i]);
    CHECK(table[i].in_docs_table);
  }
  for (std::size_t i = 6; i < table.size(); ++i) CHECK_FALSE(table[i].in_docs_table);
  for (const char* name :
       {"prelu", "elu", "celu", "selu", "gelu_tanh", "mish", "softplus", "softsign", "relu6", "hardtanh",
        "hardswish", "hardsigmoid", "hardshrink", "softshrink", "tanhshrink", "logsigmoid", "threshold"})
    CHECK(activation(name).name == name);

  for (const ActivationInfo& info : table) {
    INFO(info.name);
    CHECK(&activation(info.name) == &info);
    CHECK(std::string(info.kernel.name) == std::string(info.name));
    CHECK_FALSE(info.module_name.empty());
    CHECK_FALSE(info.formula.empty());
    CHECK(activation_names().find(std::string(info.name)) != std::string::npos);
    CHECK(info.learnable == (info.name == "prelu"));
  }
  CHECK(&activation("swish") == &activation("silu"));
  CHECK(&activation("SWISH") == &activation("silu"));
  CHECK(&activation("ReLU") == &activation("relu"));
  CHECK(&activation("GELU_Tanh") == &activation("gelu_tanh"));
  CHECK(activation_names().rfind("sigmoid, tanh, relu, leaky_relu, gelu, silu", 0) == 0);
  CHECK_THROWS_AS(activation("relu7"), ValueError);
  CHECK_THROWS_WITH(activation("relu7"), Catch::Contains("relu7") && Catch::Contains(activation_names()));

  // Defaults and their names (PyTorch's).
  CHECK(activation("leaky_relu").defaults.a == 0.01f);
  CHECK(activation("leaky_relu").param_names[0] == "negative_slope");
  CHECK(activation("prelu").defaults.a == 0.25f);
  CHECK(activation("elu").defaults.a == 1.0f);
  CHECK(activation("celu").defaults.a == 1.0f);
  CHECK(activation("softplus").defaults.a == 1.0f);
  CHECK(activation("softplus").defaults.b == 20.0f);
  CHECK(activation("softplus").param_names[1] == "threshold");
  CHECK(activation("hardtanh").defaults.a == -1.0f);
  CHECK(activation("hardtanh").defaults.b == 1.0f);
  CHECK(activation("hardshrink").defaults.a == 0.5f);
  CHECK(activation("softshrink").defaults.a == 0.5f);
  CHECK(activation("threshold").defaults.a == 0.0f);
  CHECK(activation("threshold").defaults.b == 0.0f);
}

TEST_CASE("every activation matches its reference, values and derivatives", "[activations]") {
  const std::vector<float> xs = test_grid();
  for (const ActivationInfo& info : activation_table()) {
    const Reference& ref = reference_for(info);
    const Evaluated got = evaluate(info.kernel, xs, info.defaults);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double x = xs[i];
      const double f = ref.value(x, info.defaults), df = ref.derivative(x, info.defaults);
      INFO(info.name << " at x = " << x << ": f = " << got.value[i] << " (reference " << f
                     << "), f' = " << got.derivative[i] << " (reference " << df << ")");
      CHECK(close(got.value[i], f, x));
      CHECK(close(got.derivative[i], df, x));
    }
  }
}

TEST_CASE("activations: no NaN or inf for any finite input", "[activations]") {
  std::vector<float> xs = {0.0f,     -0.0f,        FLT_MAX,       -FLT_MAX, FLT_MIN,
                           -FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN, 3e38f,    -3e38f};
  Rng rng(7);
  while (xs.size() < 20000) {
    const float x = std::bit_cast<float>(rng.next_u32());
    if (std::isfinite(x)) xs.push_back(x);
  }
  for (const ActivationInfo& info : activation_table()) {
    const Reference& ref = reference_for(info);
    const Evaluated got = evaluate(info.kernel, xs, info.defaults);
    std::string first_failure;  // checked element by element without a Catch assertion each (speed)
    for (std::size_t i = 0; i < xs.size() && first_failure.empty(); ++i) {
      // Only SELU's value can leave the float range (1.0507·x for x > FLT_MAX/1.0507): then inf is right.
      const bool value_ok =
          std::isfinite(got.value[i]) || std::abs(ref.value(xs[i], info.defaults)) > double(FLT_MAX);
      if (!value_ok || !std::isfinite(got.derivative[i]))
        first_failure =
            fmt::format("{} at x = {}: f = {}, f' = {}", info.name, xs[i], got.value[i], got.derivative[i]);
    }
    INFO(first_failure);
    CHECK(first_failure.empty());
  }
}

TEST_CASE("activation values and derivatives at PyTorch's kinks", "[activations]") {
  auto d = [](const char* name, float x) { return derivative_at(activation(name), x); };
  auto f = [](const char* name, float x) { return value_at(activation(name), x); };
  CHECK(d("relu", 0.0f) == 0.0f);
  CHECK(f("relu", 0.0f) == 0.0f);
  CHECK(d("leaky_relu", 0.0f) == 0.01f);
  CHECK(d("prelu", 0.0f) == 0.25f);
  CHECK(d("hardtanh", -1.0f) == 0.0f);
  CHECK(d("hardtanh", 1.0f) == 0.0f);
  CHECK(f("hardtanh", 1.0f) == 1.0f);
  CHECK(d("hardtanh", 0.999f) == 1.0f);
  CHECK(d("relu6", 0.0f) == 0.0f);
  CHECK(d("relu6", 6.0f) == 0.0f);
  CHECK(f("relu6", 6.0f) == 6.0f);
  CHECK(d("relu6", 5.999f) == 1.0f);
  CHECK(d("elu", 0.0f) == 1.0f);  // the x <= 0 branch: alpha·exp(0)
  CHECK(d("celu", 0.0f) == 1.0f);
  CHECK(d("selu", 0.0f) == static_cast<float>(kSeluAlpha) * static_cast<float>(kSeluScale));
  CHECK(d("selu", 1e-30f) == static_cast<float>(kSeluScale));
  CHECK(f("elu", 0.0f) == 0.0f);
  CHECK(d("hardswish", -3.0f) == -0.5f);
  CHECK(d("hardswish", 3.0f) == 1.5f);
  CHECK(d("hardswish", -3.001f) == 0.0f);
  CHECK(d("hardswish", 3.001f) == 1.0f);
  CHECK(f("hardswish", -3.0f) == 0.0f);
  CHECK(f("hardswish", 3.0f) == 3.0f);
  CHECK(d("hardsigmoid", -3.0f) == 0.0f);
  CHECK(d("hardsigmoid", 3.0f) == 0.0f);
  CHECK(d("hardsigmoid", 0.0f) == 1.0f / 6.0f);
  CHECK(f("hardsigmoid", 3.0f) == 1.0f);
  CHECK(f("hardsigmoid", -3.0f) == 0.0f);
  for (const char* shrink : {"hardshrink", "softshrink"}) {
    INFO(shrink);
    CHECK(d(shrink, 0.5f) == 0.0f);
    CHECK(d(shrink, -0.5f) == 0.0f);
    CHECK(d(shrink, 0.0f) == 0.0f);
    CHECK(d(shrink, 0.5001f) == 1.0f);
    CHECK(f(shrink, 0.5f) == 0.0f);
    CHECK(f(shrink, -0.5f) == 0.0f);
  }
  CHECK(f("hardshrink", 0.5001f) == 0.5001f);
  CHECK(f("softshrink", -0.75f) == -0.25f);
  CHECK(d("threshold", 0.0f) == 0.0f);
  CHECK(f("threshold", 0.0f) == 0.0f);
  CHECK(d("threshold", 1e-30f) == 1.0f);
  CHECK(d("softplus", 20.5f) == 1.0f);  // above the threshold: exactly 1, and the value is x itself
  CHECK(f("softplus", 20.5f) == 20.5f);
  CHECK(d("softsign", 0.0f) == 1.0f);
  CHECK(d("tanhshrink", 0.0f) == 0.0f);
  CHECK(d("sigmoid", 0.0f) == 0.25f);
  CHECK(d("tanh", 0.0f) == 1.0f);
  CHECK(d("gelu", 0.0f) == 0.5f);
  CHECK(d("silu", 0.0f) == 0.5f);
  // Tails: the saturated side is exactly flat, the linear side exactly 1.
  for (const char* name : {"relu", "gelu", "gelu_tanh", "silu", "mish", "softplus", "elu", "celu"}) {
    INFO(name);
    CHECK(d(name, 1e4f) == 1.0f);
    CHECK(f(name, 1e4f) == 1e4f);
    CHECK(std::abs(d(name, -1e4f)) < 1e-30f);
  }
}

TEST_CASE("activation gains match torch.nn.init.calculate_gain", "[activations]") {
  auto gain = [](const char* name) {
    const ActivationInfo& info = activation(name);
    return info.gain(info.defaults);
  };
  CHECK(gain("sigmoid") == 1.0f);
  CHECK(gain("tanh") == Approx(5.0 / 3.0).epsilon(1e-7));
  CHECK(gain("relu") == Approx(std::sqrt(2.0)).epsilon(1e-7));
  CHECK(gain("leaky_relu") == Approx(std::sqrt(2.0 / (1.0 + 0.01 * 0.01))).epsilon(1e-7));
  CHECK(activation("leaky_relu").gain({0.2f}) == Approx(std::sqrt(2.0 / 1.04)).epsilon(1e-6));
  CHECK(gain("selu") == 0.75f);
  // PReLU: the leaky_relu gain of its initial slope (He et al. 2015), not in calculate_gain.
  CHECK(gain("prelu") == Approx(std::sqrt(2.0 / (1.0 + 0.25 * 0.25))).epsilon(1e-7));
  for (const ActivationInfo& info : activation_table()) {
    const std::string n(info.name);
    if (n == "tanh" || n == "relu" || n == "leaky_relu" || n == "selu" || n == "prelu") continue;
    INFO(n);
    CHECK(info.gain(info.defaults) == 1.0f);
  }
  CHECK(activation("selu").init_family == InitFamily::LeCun);
  for (const char* name :
       {"relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "mish", "relu6", "hardswish"})
    CHECK(activation(name).init_family == InitFamily::He);
  for (const char* name : {"sigmoid", "tanh", "softsign", "hardtanh", "hardsigmoid"})
    CHECK(activation(name).init_family == InitFamily::Xavier);
}

TEST_CASE("max_derivative is the largest f', found by scanning", "[activations]") {
  // Dense grid (step 2^-10, exact) over [-20, 20], plus the tails.
  std::vector<float> xs = dense_grid(-20.0f, 20.0f, 1.0f / 1024.0f);
  for (float x : {-1e4f, -100.0f, -50.0f, 50.0f, 100.0f, 1e4f}) xs.push_back(x);
  for (const ActivationInfo& info : activation_table()) {
    INFO(info.name);
    const Reference& ref = reference_for(info);
    const Evaluated got = evaluate(info.kernel, xs, info.defaults);
    double kernel_max = -1e30, reference_max = -1e30;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      kernel_max = std::max(kernel_max, double(got.derivative[i]));
      reference_max = std::max(reference_max, ref.derivative(xs[i], info.defaults));
    }
    CHECK(info.max_derivative == Approx(reference_max).epsilon(2e-6));
    CHECK(info.max_derivative == Approx(kernel_max).epsilon(2e-6));
  }
  CHECK(activation("sigmoid").max_derivative == 0.25f);
  CHECK(activation("tanh").max_derivative == 1.0f);
  CHECK(activation("gelu").max_derivative == Approx(1.1289).epsilon(1e-4));
  CHECK(activation("silu").max_derivative == Approx(1.0998).epsilon(1e-4));
  CHECK(activation("mish").max_derivative == Approx(1.0885).epsilon(1e-4));
}

TEST_CASE("activation properties hold on a dense scan", "[activations]") {
  std::vector<float> xs = dense_grid(-30.0f, 30.0f, 1.0f / 256.0f);
  xs.insert(xs.begin(), {-3e38f, -1e4f, -1000.0f, -100.0f});
  for (float x : {100.0f, 1000.0f, 1e4f, 3e38f}) xs.push_back(x);
  const std::vector<float> fine = dense_grid(-10.0f, 10.0f, 1.0f / 1024.0f);

  for (const ActivationInfo& info : activation_table()) {
    INFO(info.name);
    const ActivationProperties& p = info.properties;
    const Evaluated got = evaluate(info.kernel, xs, info.defaults);
    const auto [lo, hi] = std::minmax_element(got.value.begin(), got.value.end());
    CHECK(p.bounded_below == (*lo > -100.0f));
    CHECK(p.bounded_above == (*hi < 100.0f));

    bool non_decreasing = true;
    for (std::size_t i = 1; i < xs.size(); ++i)
      if (got.value[i] < got.value[i - 1] - 1e-6f * (1.0f + std::abs(got.value[i]))) non_decreasing = false;
    CHECK(p.monotone == non_decreasing);

    const float f0 = value_at(info, 0.0f);
    const bool negative = *lo<0.0f, positive = *hi> 0.0f;
    CHECK(p.zero_centred == (f0 == 0.0f && negative && positive));

    // C¹: the derivative moves by at most |f''|·h ≈ 1e-3 between neighbours of the fine grid; a kink
    // (or a jump) moves it by far more.
    const Evaluated g = evaluate(info.kernel, fine, info.defaults);
    float largest_step = 0.0f;
    for (std::size_t i = 1; i < fine.size(); ++i)
      largest_step = std::max(largest_step, std::abs(g.derivative[i] - g.derivative[i - 1]));
    CHECK(p.smooth == (largest_step < 0.02f));

    const float left = std::abs(derivative_at(info, -1e4f)), right = std::abs(derivative_at(info, 1e4f));
    CHECK(p.saturating == (std::min(left, right) < 1e-3f * info.max_derivative));
  }
}

TEST_CASE("activate() records a backward that matches the derivative and accumulates", "[activations]") {
  Rng rng(11);
  for (const ActivationInfo& info : activation_table()) {
    INFO(info.name);
    // gradcheck on random points kept away from every kink (0, ±0.5, ±1, ±3, 6).
    Tensor x = Tensor::empty({24});
    for (float& v : x.span()) {
      do v = rng.uniform(-4.5f, 4.5f);
      while (std::min({std::abs(v), std::abs(std::abs(v) - 0.5f), std::abs(std::abs(v) - 1.0f),
                       std::abs(std::abs(v) - 3.0f), std::abs(v - 6.0f)}) < 0.1f);
    }
    x.requires_grad_();
    require_gradcheck([&](const std::vector<Tensor>& in) { return activate(in[0], info); }, {x});

    // backward adds gy·f'(x) into an existing grad.
    Tensor xg = Tensor::from({-2.5f, -0.7f, -0.2f, 0.3f, 0.8f, 2.0f, 4.0f, 0.0f}).requires_grad_();
    const std::vector<float> before = {1.0f, -2.0f, 0.5f, 3.0f, -1.0f, 0.25f, 2.0f, -0.5f};
    xg.set_grad(Tensor::from(std::span<const float>(before), {8}));
    Tensor gy = Tensor::from({0.5f, 1.0f, -1.5f, 2.0f, 1.0f, -0.75f, 1.25f, 3.0f});
    activate(xg, info).backward(gy);
    const std::vector<float> xv = xg.detach().to_vector();
    const Evaluated e = evaluate(info.kernel, xv, info.defaults);
    check_close(xg.grad(), [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      return double(before[k]) + double(gy.data()[i]) * e.derivative[k];
    });

    // The kernel's own backward loop accumulates too.
    std::vector<float> gx(before);
    info.kernel.backward(xv.data(), e.value.data(), gy.data(), gx.data(), 8, info.defaults);
    for (std::size_t k = 0; k < 8; ++k)
      CHECK(gx[k] == Approx(before[k] + gy.data()[k] * e.derivative[k]).margin(1e-6));
  }
}

TEST_CASE("functional forms with non-default parameters", "[activations]") {
  Rng rng(5);
  Tensor x = random_tensor({64}, rng, -6.0f, 6.0f, /*grad=*/false);
  x.data()[0] = 0.0f;
  x.data()[1] = 0.5f;
  x.data()[2] = -2.0f;
  auto check = [&](const Tensor& y, const char* name, PointwiseParams p) {
    INFO(name);
    const Reference& ref = reference_for(activation(name));
    check_close(
        y, [&](std::int64_t i) { return ref.value(x.data()[i], p); }, 1e-5, 1e-6);
  };
  check(sigmoid(x), "sigmoid", {});
  check(tanh(x), "tanh", {});
  check(relu(x), "relu", {});
  check(leaky_relu(x, 0.2f), "leaky_relu", {0.2f});
  check(leaky_relu(x), "leaky_relu", {0.01f});
  check(elu(x, 0.5f), "elu", {0.5f});
  check(celu(x, 2.0f), "celu", {2.0f});
  check(selu(x), "selu", {});
  check(gelu(x), "gelu", {});
  check(gelu(x, "tanh"), "gelu_tanh", {});
  check(silu(x), "silu", {});
  check(mish(x), "mish", {});
  check(softplus(x, 2.0f, 5.0f), "softplus", {2.0f, 5.0f});
  check(softplus(x), "softplus", {1.0f, 20.0f});
  check(softsign(x), "softsign", {});
  check(relu6(x), "relu6", {});
  check(hardtanh(x, -2.0f, 0.5f), "hardtanh", {-2.0f, 0.5f});
  check(hardswish(x), "hardswish", {});
  check(hardsigmoid(x), "hardsigmoid", {});
  check(hardshrink(x, 1.5f), "hardshrink", {1.5f});
  check(softshrink(x, 1.5f), "softshrink", {1.5f});
  check(tanhshrink(x), "tanhshrink", {});
  check(logsigmoid(x), "logsigmoid", {});
  check(threshold(x, -2.0f, 7.0f), "threshold", {-2.0f, 7.0f});
  check(activate(x, activation("leaky_relu"), {0.3f}), "leaky_relu", {0.3f});
  CHECK(threshold(Tensor::from({-2.0f}), -2.0f, 7.0f).item() == 7.0f);
  CHECK_THROWS_AS(gelu(x, "fast"), ValueError);

  // Gradients with parameters.
  Tensor xg = random_tensor({16}, rng, 0.6f, 2.5f);
  for (std::int64_t i = 0; i < 8; ++i) xg.data()[i] = -xg.data()[i];
  require_gradcheck([](const std::vector<Tensor>& in) { return elu(in[0], 0.5f); }, {xg});
  require_gradcheck([](const std::vector<Tensor>& in) { return celu(in[0], 2.0f); }, {xg});
  require_gradcheck([](const std::vector<Tensor>& in) { return softplus(in[0], 2.0f, 3.0f); }, {xg});
  require_gradcheck([](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.3f); }, {xg});
}

TEST_CASE("prelu with one weight or one per channel", "[activations][prelu]") {
  Rng rng(9);
  SECTION("single weight") {
    Tensor x = random_tensor({4, 3}, rng, -2.0f, 2.0f);
    Tensor w = Tensor::from({0.25f}).requires_grad_();
    Tensor y = prelu(x, w);
    check_close(y, [&](std::int64_t i) {
      const double v = x.data()[i];
      return v > 0 ? v : 0.25 * v;
    });
    tape().clear();
    require_gradcheck([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); }, {x, w});
  }
  SECTION("per channel, [N, C, L]") {
    Tensor x = random_tensor({3, 4, 5}, rng, -2.0f, 2.0f);
    Tensor w = Tensor::from({0.1f, -0.3f, 0.5f, 1.5f}).requires_grad_();
    Tensor y = prelu(x, w);
    check_close(y, [&](std::int64_t i) {
      const double v = x.data()[i];
      return v > 0 ? v : double(w.data()[(i / 5) % 4]) * v;
    });
    tape().clear();
    require_gradcheck([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); }, {x, w});
  }
  SECTION("per channel, [N, C]") {
    Tensor x = random_tensor({6, 3}, rng, -2.0f, 2.0f);
    Tensor w = Tensor::from({0.2f, 0.4f, 0.6f}).requires_grad_();
    tape().clear();
    require_gradcheck([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); }, {x, w});
  }
  SECTION("gradients at 0 and accumulation, by hand") {
    Tensor x = Tensor::from({-2.0f, 0.0f, 3.0f, -1.0f}, {2, 2}).requires_grad_();
    Tensor w = Tensor::from({0.5f, 0.25f}).requires_grad_();
    x.set_grad(Tensor::from({10.0f, 10.0f, 10.0f, 10.0f}, {2, 2}));  // backward adds to these
    w.set_grad(Tensor::from({100.0f, 100.0f}));
    prelu(x, w).backward(Tensor::from({1.0f, 2.0f, 3.0f, 4.0f}, {2, 2}));
    // x = [[-2, 0], [3, -1]], channel = column. dx = g where x > 0 else w·g (so at 0 it is w).
    check_close(x.grad(), std::vector<double>{10.5, 10.5, 13.0, 11.0});
    // dw[c] = Σ x·g where x <= 0: c0: -2·1, c1: 0·2 + -1·4.
    check_close(w.grad(), std::vector<double>{98.0, 96.0});
  }
  SECTION("shape errors") {
    Tensor x = Tensor::zeros({4, 3});
    CHECK_THROWS_AS(prelu(x, Tensor::zeros({2})), ShapeError);
    CHECK_THROWS_WITH(prelu(x, Tensor::zeros({2})), Catch::Contains("[4, 3]") && Catch::Contains("[2]"));
    CHECK_THROWS_AS(prelu(Tensor::zeros({5}), Tensor::zeros({5})), ShapeError);
    CHECK_NOTHROW(prelu(Tensor::zeros({5}), Tensor::zeros({1})));
  }
}

TEST_CASE("glu = a * sigmoid(b) over the halves of a dimension", "[activations][glu]") {
  Rng rng(10);
  Tensor x = random_tensor({4, 6}, rng, -3.0f, 3.0f);
  Tensor y = glu(x);
  REQUIRE(y.shape() == Shape{4, 3});
  check_close(y, [&](std::int64_t i) {
    const std::int64_t r = i / 3, c = i % 3;
    return double(x.data()[r * 6 + c]) * sigmoid_ref(x.data()[r * 6 + c + 3]);
  });
  tape().clear();
  require_gradcheck([](const std::vector<Tensor>& in) { return glu(in[0]); }, {x});

  Tensor x3 = random_tensor({2, 4, 3}, rng, -3.0f, 3.0f);
  Tensor y3 = glu(x3, 1);
  REQUIRE(y3.shape() == Shape{2, 2, 3});
  check_close(y3, [&](std::int64_t i) {
    const std::int64_t o = i / 6, j = (i / 3) % 2, k = i % 3;
    const double a = x3.data()[o * 12 + j * 3 + k], b = x3.data()[o * 12 + (j + 2) * 3 + k];
    return a * sigmoid_ref(b);
  });
  tape().clear();
  require_gradcheck([](const std::vector<Tensor>& in) { return glu(in[0], 1); }, {x3});
  require_gradcheck([](const std::vector<Tensor>& in) { return glu(in[0], 0); }, {x3});

  // Backward adds into an existing grad: da = g·σ(b), db = g·a·σ(b)(1 - σ(b)).
  Tensor xa = Tensor::from({2.0f, -1.0f}).requires_grad_();
  xa.set_grad(Tensor::from({1.0f, 1.0f}));
  glu(xa).backward(Tensor::from({3.0f}));
  const double s = sigmoid_ref(-1.0);
  check_close(xa.grad(), std::vector<double>{1.0 + 3.0 * s, 1.0 + 3.0 * 2.0 * s * (1.0 - s)});

  CHECK_THROWS_AS(glu(Tensor::zeros({4, 5})), ShapeError);
  CHECK_THROWS_WITH(glu(Tensor::zeros({4, 5})), Catch::Contains("[4, 5]"));
  CHECK_THROWS_AS(glu(Tensor::scalar(1.0f)), ShapeError);
}

}  // namespace BEND_UNITY_ID
