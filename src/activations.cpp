// The activation table (bend/activations.hpp) and the two activations that are not pointwise: prelu
// (a learnable slope per channel) and glu (gates one half of a dimension with the other).
//
// Each pointwise activation is a struct with value(x) and derivative(x, y) side by side, written with
// vm:: math and vm::detail::select so that make_pointwise_kernel's loops vectorise. The formulas follow
// PyTorch's CPU kernels (aten/src/ATen/native/cpu/Activation.cpp and derivatives.yaml), including which
// side of a kink the derivative takes. Where PyTorch's float evaluation would overflow to inf or NaN for
// a finite input (hardswish near FLT_MAX, the tanh-GELU derivative for |x| > 1e13), or cancels badly
// (the tanh-GELU and Mish tails), an equal formula that does not is used; the notes at each struct say
// so.
#include "bend/activations.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/vecmath.hpp"
#include "bend/error.hpp"

namespace bend {
namespace {

using P = PointwiseParams;
using vm::detail::select;

[[gnu::always_inline]] inline float clamp(float x, float lo, float hi) {
  // NaN passes through (both comparisons are false), as with torch.clamp.
  return select(x > hi, hi, select(x < lo, lo, x));
}

// sigmoid(z) and sigmoid(z)·(1 - sigmoid(z)) from one e = exp(-|z|): both without cancellation, so the
// product stays accurate in both tails (1 - sigmoid(z) computed by subtraction loses it for z > 0).
struct SigmoidParts {
  float s;
  float s_times_one_minus_s;
};
[[gnu::always_inline]] inline SigmoidParts sigmoid_parts(float z) {
  const float e = vm::exp(-vm::detail::abs(z));
  const float r = 1.0f / (1.0f + e);
  return {select(z >= 0.0f, r, e * r), e * r * r};
}

// --- the saturating classics ---

struct Sigmoid {
  static float value(float x, const P&) { return vm::sigmoid(x); }
  // PyTorch's sigmoid_backward: y(1 - y), from the saved output.
  static float derivative(float, float y, const P&) { return y * (1.0f - y); }
};

struct Tanh {
  static float value(float x, const P&) { return vm::tanh(x); }
  // PyTorch's tanh_backward: 1 - y².
  static float derivative(float, float y, const P&) { return 1.0f - y * y; }
};

// --- rectifiers ---

struct Relu {
  static float value(float x, const P&) { return select(x < 0.0f, 0.0f, x); }  // NaN passes through
  // threshold_backward on the result: the gradient passes only where y > 0, so relu'(0) = 0.
  static float derivative(float x, float, const P&) { return select(x > 0.0f, 1.0f, 0.0f); }
};

// a = negative_slope (also PReLU's table kernel, with a = its initial slope).
struct LeakyRelu {
  static float value(float x, const P& p) { return select(x > 0.0f, x, x * p.a); }
  // x > 0 ? 1 : slope, so leaky_relu'(0) = slope.
  static float derivative(float x, float, const P& p) { return select(x > 0.0f, 1.0f, p.a); }
};

// --- the exponential-linear family: elu_backward with is_result = false takes the x <= 0 branch at 0 ---

// a = alpha
struct Elu {
  static float value(float x, const P& p) { return select(x > 0.0f, x, p.a * vm::expm1(x)); }
  static float derivative(float x, float, const P& p) { return select(x > 0.0f, 1.0f, p.a * vm::exp(x)); }
};

// a = alpha. PyTorch's celu is elu with input_scale 1/alpha.
struct Celu {
  static float value(float x, const P& p) {
    const float inv_alpha = 1.0f / p.a;
    return select(x > 0.0f, x, p.a * vm::expm1(x * inv_alpha));
  }
  static float derivative(float x, float, const P& p) {
    const float inv_alpha = 1.0f / p.a;
    return select(x > 0.0f, 1.0f, vm::exp(x * inv_alpha));
  }
};

// torch.nn.SELU's constants (Klambauer et al. 2017).
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSeluNegativeCoefficient = kSeluAlpha * kSeluScale;  // in float, as PyTorch's kernel does

struct Selu {
  static float value(float x, const P&) {
    return select(x > 0.0f, kSeluScale * x, kSeluNegativeCoefficient * vm::expm1(x));
  }
  static float derivative(float x, float, const P&) {
    return select(x > 0.0f, kSeluScale, kSeluNegativeCoefficient * vm::exp(x));
  }
};

// --- smooth self-gated functions ---

constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/√2
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;   // 1/√(2π)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // √(2/π)
constexpr float kGeluTanhKappa = 0.044715f;

// GELU, exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)); derivative Φ(x) + x·φ(x). As in PyTorch, 0.5·x is formed
// first so nothing overflows near FLT_MAX. (Like PyTorch's, the value for x < -3 carries an absolute
// error of about |x|·6e-8 from 1 + erf.)
struct GeluErf {
  static float value(float x, const P&) { return (0.5f * x) * (1.0f + vm::erf(x * kSqrtHalf)); }
  static float derivative(float x, float, const P&) {
    const float cdf = 0.5f * (1.0f + vm::erf(x * kSqrtHalf));
    const float pdf = kInvSqrt2Pi * vm::exp(-0.5f * (x * x));  // x² = inf gives exp(-inf) = 0, x·0 = 0
    return cdf + x * pdf;
  }
};

// GELU, approximate = "tanh": 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³). Evaluated as the equal
// x·sigmoid(2u), whose left tail does not cancel; the derivative, PyTorch's
// 0.5(1 + tanh u) + 0.5x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²), is likewise s + 2x·s(1-s)·u'(x) with
// s = sigmoid(2u). The derivative uses x clamped to ±12, where s is already exactly 0 or 1 in float (so
// the result is unchanged) and x² cannot overflow into 0·inf.
struct GeluTanh {
  static float inner(float x) { return kSqrt2OverPi * (x + kGeluTanhKappa * (x * x * x)); }
  static float value(float x, const P&) { return x * vm::sigmoid(2.0f * inner(x)); }
  static float derivative(float x, float, const P&) {
    const float xc = clamp(x, -12.0f, 12.0f);
    const SigmoidParts sp = sigmoid_parts(2.0f * inner(xc));
    const float inner_derivative = kSqrt2OverPi * (1.0f + 3.0f * kGeluTanhKappa * (xc * xc));
    return sp.s + 2.0f * xc * sp.s_times_one_minus_s * inner_derivative;
  }
};

// SiLU / swish: x·sigmoid(x); derivative s(1 + x(1 - s)) = s + x·s(1-s).
struct Silu {
  static float value(float x, const P&) { return x * vm::sigmoid(x); }
  static float derivative(float x, float, const P&) {
    const SigmoidParts sp = sigmoid_parts(x);
    return sp.s + x * sp.s_times_one_minus_s;
  }
};

// Mish: x·tanh(softplus(x)). With n = eˣ, tanh(log(1 + n)) = w/(w + 2) where w = n(n + 2), and
// 1 - tanh² = 4(w + 1)/(w + 2)²: one exp and no cancellation instead of PyTorch's exp, log1p and tanh.
// x is clamped to 20 (there tanh(softplus(x)) is exactly 1 in float and w + 2 squared stays finite);
// PyTorch's derivative tanh_sp + x·sigmoid(x)·(1 - tanh_sp²) is evaluated at the clamped x, which only
// drops a term below 1e-15.
struct Mish {
  struct Parts {
    float t, w;
  };
  static Parts parts(float xc) {
    const float n = vm::exp(xc);
    const float w = n * (n + 2.0f);
    return {w / (w + 2.0f), w};
  }
  static float value(float x, const P&) { return x * parts(select(x > 20.0f, 20.0f, x)).t; }
  static float derivative(float x, float, const P&) {
    const float xc = select(x > 20.0f, 20.0f, x);
    const Parts m = parts(xc);
    const float sigmoid = vm::sigmoid(xc);
    const float w2 = m.w + 2.0f;
    return m.t + xc * sigmoid * (4.0f * (m.w + 1.0f) / (w2 * w2));
  }
};

// a = beta, b = threshold: log(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's switch).
// The derivative is sigmoid(βx), and exactly 1 above the threshold.
struct Softplus {
  static float value(float x, const P& p) {
    const float z = x * p.a;
    return select(z > p.b, x, vm::softplus(z) / p.a);
  }
  static float derivative(float x, float, const P& p) {
    const float z = x * p.a;
    return select(z > p.b, 1.0f, vm::sigmoid(z));
  }
};

// x/(1 + |x|); derivative 1/(1 + |x|)², squared after the division so it underflows gracefully.
struct Softsign {
  static float value(float x, const P&) { return x / (1.0f + vm::detail::abs(x)); }
  static float derivative(float x, float, const P&) {
    const float r = 1.0f / (1.0f + vm::detail::abs(x));
    return r * r;
  }
};

// --- piecewise-linear "hard" functions: derivative 0 on the edges, as hardtanh_backward has it ---

// PyTorch's relu6 is hardtanh(x, 0, 6): gradient 0 at x <= 0 and x >= 6.
struct Relu6 {
  static float value(float x, const P&) { return clamp(x, 0.0f, 6.0f); }
  static float derivative(float x, float, const P&) { return select((x > 0.0f) & (x < 6.0f), 1.0f, 0.0f); }
};

// a = min_val, b = max_val
struct Hardtanh {
  static float value(float x, const P& p) { return clamp(x, p.a, p.b); }
  static float derivative(float x, float, const P& p) { return select((x > p.a) & (x < p.b), 1.0f, 0.0f); }
};

// x·relu6(x + 3)/6. Written x·(relu6(x + 3)/6) rather than PyTorch's (x·relu6(x + 3))/6, which
// overflows to inf for x > FLT_MAX/6. Derivative: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
struct Hardswish {
  static float value(float x, const P&) { return x * (clamp(x + 3.0f, 0.0f, 6.0f) / 6.0f); }
  static float derivative(float x, float, const P&) {
    return select(x < -3.0f, 0.0f, select(x <= 3.0f, x / 3.0f + 0.5f, 1.0f));
  }
};

// relu6(x + 3)/6; derivative 1/6 strictly inside (-3, 3).
struct Hardsigmoid {
  static float value(float x, const P&) { return clamp(x + 3.0f, 0.0f, 6.0f) / 6.0f; }
  static float derivative(float x, float, const P&) {
    return select((x > -3.0f) & (x < 3.0f), 1.0f / 6.0f, 0.0f);
  }
};

// a = lambd: 0 on [-λ, λ], x outside; the gradient is 0 on the closed interval.
struct Hardshrink {
  static float value(float x, const P& p) { return select((x >= -p.a) & (x <= p.a), 0.0f, x); }
  static float derivative(float x, float, const P& p) { return select((x >= -p.a) & (x <= p.a), 0.0f, 1.0f); }
};

// a = lambd: x ∓ λ outside [-λ, λ], 0 inside; the gradient is 0 on the closed interval.
struct Softshrink {
  static float value(float x, const P& p) {
    return select(x > p.a, x - p.a, select(x < -p.a, x + p.a, 0.0f));
  }
  static float derivative(float x, float, const P& p) { return select((x >= -p.a) & (x <= p.a), 0.0f, 1.0f); }
};

// a = threshold, b = value: x where x > threshold, else the value; gradient 0 where x <= threshold.
struct Threshold {
  static float value(float x, const P& p) { return select(x <= p.a, p.b, x); }
  static float derivative(float x, float, const P& p) { return select(x <= p.a, 0.0f, 1.0f); }
};

// --- the rest ---

// x - tanh(x). PyTorch differentiates the composite, 1 - (1 - tanh²); this is the same tanh².
struct Tanhshrink {
  static float value(float x, const P&) { return x - vm::tanh(x); }
  static float derivative(float x, float, const P&) {
    const float t = vm::tanh(x);
    return t * t;
  }
};

// log(sigmoid(x)); derivative sigmoid(-x) (PyTorch's log_sigmoid_backward, both branches).
struct LogSigmoid {
  static float value(float x, const P&) { return vm::log_sigmoid(x); }
  static float derivative(float x, float, const P&) { return vm::sigmoid(-x); }
};

constexpr PointwiseKernel kSigmoid = make_pointwise_kernel<Sigmoid>("sigmoid");
constexpr PointwiseKernel kTanh = make_pointwise_kernel<Tanh>("tanh");
constexpr PointwiseKernel kRelu = make_pointwise_kernel<Relu>("relu");
constexpr PointwiseKernel kLeakyRelu = make_pointwise_kernel<LeakyRelu>("leaky_relu");
constexpr PointwiseKernel kGelu = make_pointwise_kernel<GeluErf>("gelu");
constexpr PointwiseKernel kSilu = make_pointwise_kernel<Silu>("silu");
constexpr PointwiseKernel kPreluFixed = make_pointwise_kernel<LeakyRelu>("prelu");
constexpr PointwiseKernel kElu = make_pointwise_kernel<Elu>("elu");
constexpr PointwiseKernel kCelu = make_pointwise_kernel<Celu>("celu");
constexpr PointwiseKernel kSelu = make_pointwise_kernel<Selu>("selu");
constexpr PointwiseKernel kGeluTanh = make_pointwise_kernel<GeluTanh>("gelu_tanh");
constexpr PointwiseKernel kMish = make_pointwise_kernel<Mish>("mish");
constexpr PointwiseKernel kSoftplus = make_pointwise_kernel<Softplus>("softplus");
constexpr PointwiseKernel kSoftsign = make_pointwise_kernel<Softsign>("softsign");
constexpr PointwiseKernel kRelu6 = make_pointwise_kernel<Relu6>("relu6");
constexpr PointwiseKernel kHardtanh = make_pointwise_kernel<Hardtanh>("hardtanh");
constexpr PointwiseKernel kHardswish = make_pointwise_kernel<Hardswish>("hardswish");
constexpr PointwiseKernel kHardsigmoid = make_pointwise_kernel<Hardsigmoid>("hardsigmoid");
constexpr PointwiseKernel kHardshrink = make_pointwise_kernel<Hardshrink>("hardshrink");
constexpr PointwiseKernel kSoftshrink = make_pointwise_kernel<Softshrink>("softshrink");
constexpr PointwiseKernel kTanhshrink = make_pointwise_kernel<Tanhshrink>("tanhshrink");
constexpr PointwiseKernel kLogSigmoid = make_pointwise_kernel<LogSigmoid>("logsigmoid");
constexpr PointwiseKernel kThreshold = make_pointwise_kernel<Threshold>("threshold");

// torch.nn.init.calculate_gain. PyTorch has entries only for linear/identity/conv (1), sigmoid (1),
// tanh (5/3), relu (√2), leaky_relu (√(2/(1 + slope²))) and selu (3/4); every other activation here
// gets 1, as the header promises. The one deliberate addition is PReLU, which gets the leaky_relu gain
// of its initial slope: that is He et al.'s (2015) initialisation for PReLU networks and what
// kaiming_*_(w, a=0.25, nonlinearity="leaky_relu") computes.
float gain_one(const P&) { return 1.0f; }
float gain_tanh(const P&) { return 5.0f / 3.0f; }
float gain_relu(const P&) { return std::sqrt(2.0f); }
float gain_leaky_relu(const P& p) { return std::sqrt(2.0f / (1.0f + p.a * p.a)); }
float gain_selu(const P&) { return 0.75f; }

// Properties, in the order bounded_below, bounded_above, monotone (non-decreasing), smooth (C¹),
// zero_centred (f(0) = 0, both signs), saturating (f' -> 0 in at least one tail).
constexpr ActivationProperties props(bool below, bool above, bool monotone, bool smooth, bool zero_centred,
                                     bool saturating) {
  return {below, above, monotone, smooth, zero_centred, saturating};
}

// max_derivative values were found by maximising f' numerically in double (golden-section search
// around the best point of a 1e-4 grid on [-10, 10]); tests/test_activations.cpp re-derives each.
//   gelu 1.12890415 at x = √2, gelu_tanh 1.12899307 at x ≈ 1.4185, silu 1.09983932 at x ≈ 2.3994,
//   mish 1.08849816 at x ≈ 1.4906, selu λα = 1.75809934 (x -> 0⁻), hardswish 1.5 (x = 3).
// Where the largest slope is only approached (tanhshrink, logsigmoid in a tail) the supremum is given.
//
// Init families: He for the rectifier-like functions (one side near zero or small, the other close to
// the identity: relu, leaky_relu, prelu, elu, celu, gelu*, silu, mish, softplus, relu6, hardswish,
// threshold, logsigmoid), LeCun for SELU (its self-normalisation assumes it), Xavier for the bounded
// saturating ones (sigmoid, tanh, softsign, hardtanh, hardsigmoid) and for the odd "shrink" functions
// (hardshrink, softshrink, tanhshrink), which keep both signs like tanh rather than halving the signal.
constexpr ActivationInfo kTable[] = {
    {.name = "sigmoid",
     .module_name = "Sigmoid",
     .formula = "1 / (1 + exp(-x))",
     .kernel = kSigmoid,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 0.25f,
     .properties = props(true, true, true, true, false, true),
     .learnable = false,
     .in_docs_table = true},
    {.name = "tanh",
     .module_name = "Tanh",
     .formula = "tanh(x)",
     .kernel = kTanh,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::Xavier,
     .gain = gain_tanh,
     .max_derivative = 1.0f,
     .properties = props(true, true, true, true, true, true),
     .learnable = false,
     .in_docs_table = true},
    {.name = "relu",
     .module_name = "ReLU",
     .formula = "max(0, x)",
     .kernel = kRelu,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_relu,
     .max_derivative = 1.0f,
     .properties = props(true, false, true, false, false, true),
     .learnable = false,
     .in_docs_table = true},
    {.name = "leaky_relu",
     .module_name = "LeakyReLU",
     .formula = "x if x > 0 else negative_slope * x",
     .kernel = kLeakyRelu,
     .defaults = {0.01f},
     .param_names = {"negative_slope"},
     .init_family = InitFamily::He,
     .gain = gain_leaky_relu,
     .max_derivative = 1.0f,
     .properties = props(false, false, true, false, true, false),
     .learnable = false,
     .in_docs_table = true},
    {.name = "gelu",
     .module_name = "GELU",
     .formula = "x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))",
     .kernel = kGelu,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.1289041f,
     .properties = props(true, false, false, true, true, true),
     .learnable = false,
     .in_docs_table = true},
    {.name = "silu",
     .module_name = "SiLU",
     .formula = "x * sigmoid(x)",
     .kernel = kSilu,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0998393f,
     .properties = props(true, false, false, true, true, true),
     .learnable = false,
     .in_docs_table = true},

    {.name = "prelu",
     .module_name = "PReLU",
     .formula = "x if x > 0 else a * x (a learnable, from init)",
     .kernel = kPreluFixed,
     .defaults = {0.25f},
     .param_names = {"init"},
     .init_family = InitFamily::He,
     .gain = gain_leaky_relu,
     .max_derivative = 1.0f,
     .properties = props(false, false, true, false, true, false),
     .learnable = true,
     .in_docs_table = false},
    {.name = "elu",
     .module_name = "ELU",
     .formula = "x if x > 0 else alpha * (exp(x) - 1)",
     .kernel = kElu,
     .defaults = {1.0f},
     .param_names = {"alpha"},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, false, true, true, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "celu",
     .module_name = "CELU",
     .formula = "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
     .kernel = kCelu,
     .defaults = {1.0f},
     .param_names = {"alpha"},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, false, true, true, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "selu",
     .module_name = "SELU",
     .formula = "scale * (x if x > 0 else alpha * (exp(x) - 1)), scale = 1.0507, alpha = 1.6733",
     .kernel = kSelu,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::LeCun,
     .gain = gain_selu,
     .max_derivative = 1.7580993f,
     .properties = props(true, false, true, false, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "gelu_tanh",
     .module_name = "GELU",
     .formula = "0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))",
     .kernel = kGeluTanh,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.1289931f,
     .properties = props(true, false, false, true, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "mish",
     .module_name = "Mish",
     .formula = "x * tanh(softplus(x))",
     .kernel = kMish,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0884982f,
     .properties = props(true, false, false, true, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "softplus",
     .module_name = "Softplus",
     .formula = "log(1 + exp(beta x)) / beta, x where beta x > threshold",
     .kernel = kSoftplus,
     .defaults = {1.0f, 20.0f},
     .param_names = {"beta", "threshold"},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, false, true, true, false, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "softsign",
     .module_name = "Softsign",
     .formula = "x / (1 + |x|)",
     .kernel = kSoftsign,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, true, true, true, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "relu6",
     .module_name = "ReLU6",
     .formula = "min(max(0, x), 6)",
     .kernel = kRelu6,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, true, true, false, false, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "hardtanh",
     .module_name = "Hardtanh",
     .formula = "min(max(x, min_val), max_val)",
     .kernel = kHardtanh,
     .defaults = {-1.0f, 1.0f},
     .param_names = {"min_val", "max_val"},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, true, true, false, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "hardswish",
     .module_name = "Hardswish",
     .formula = "x * relu6(x + 3) / 6",
     .kernel = kHardswish,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.5f,
     .properties = props(true, false, false, false, true, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "hardsigmoid",
     .module_name = "Hardsigmoid",
     .formula = "relu6(x + 3) / 6",
     .kernel = kHardsigmoid,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f / 6.0f,
     .properties = props(true, true, true, false, false, true),
     .learnable = false,
     .in_docs_table = false},
    {.name = "hardshrink",
     .module_name = "Hardshrink",
     .formula = "x if |x| > lambd else 0",
     .kernel = kHardshrink,
     .defaults = {0.5f},
     .param_names = {"lambd"},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(false, false, true, false, true, false),
     .learnable = false,
     .in_docs_table = false},
    {.name = "softshrink",
     .module_name = "Softshrink",
     .formula = "x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
     .kernel = kSoftshrink,
     .defaults = {0.5f},
     .param_names = {"lambd"},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(false, false, true, false, true, false),
     .learnable = false,
     .in_docs_table = false},
    {.name = "tanhshrink",
     .module_name = "Tanhshrink",
     .formula = "x - tanh(x)",
     .kernel = kTanhshrink,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::Xavier,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(false, false, true, true, true, false),
     .learnable = false,
     .in_docs_table = false},
    {.name = "logsigmoid",
     .module_name = "LogSigmoid",
     .formula = "log(sigmoid(x)) = -softplus(-x)",
     .kernel = kLogSigmoid,
     .defaults = {},
     .param_names = {},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(false, true, true, true, false, true),
     .learnable = false,
     .in_docs_table = false},
    // PyTorch's Threshold has no defaults; the table uses threshold = 0, value = 0 (which is ReLU).
    {.name = "threshold",
     .module_name = "Threshold",
     .formula = "x if x > threshold else value",
     .kernel = kThreshold,
     .defaults = {0.0f, 0.0f},
     .param_names = {"threshold", "value"},
     .init_family = InitFamily::He,
     .gain = gain_one,
     .max_derivative = 1.0f,
     .properties = props(true, false, true, false, false, true),
     .learnable = false,
     .in_docs_table = false},
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::span<const ActivationInfo> activation_table() { return kTable; }

std::string activation_names() {
  std::string names;
  for (const ActivationInfo& info : kTable) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

const ActivationInfo& activation(std::string_view name) {
  const std::string_view wanted = equals_ignoring_case(name, "swish") ? std::string_view("silu") : name;
  for (const ActivationInfo& info : kTable)
    if (equals_ignoring_case(info.name, wanted)) return info;
  throw ValueError(fmt::format("unknown activation '{}'; valid names: {} (and swish, the same as silu)", name,
                               activation_names()));
}

Tensor activate(const Tensor& x, const ActivationInfo& info) {
  return apply_pointwise(x, info.kernel, info.defaults);
}
Tensor activate(const Tensor& x, const ActivationInfo& info, const PointwiseParams& params) {
  return apply_pointwise(x, info.kernel, params);
}

Tensor sigmoid(const Tensor& x) { return apply_pointwise(x, kSigmoid); }
Tensor tanh(const Tensor& x) { return apply_pointwise(x, kTanh); }
Tensor relu(const Tensor& x) { return apply_pointwise(x, kRelu); }
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return apply_pointwise(x, kLeakyRelu, {negative_slope});
}
Tensor elu(const Tensor& x, float alpha) { return apply_pointwise(x, kElu, {alpha}); }
Tensor celu(const Tensor& x, float alpha) {
  if (alpha == 0.0f) throw ValueError("celu: alpha must not be 0 (the negative side divides by it)");
  return apply_pointwise(x, kCelu, {alpha});
}
Tensor selu(const Tensor& x) { return apply_pointwise(x, kSelu); }
Tensor gelu(const Tensor& x, std::string_view approximate) {
  if (approximate == "none") return apply_pointwise(x, kGelu);
  if (approximate == "tanh") return apply_pointwise(x, kGeluTanh);
  throw ValueError(fmt::format("gelu: approximate must be \"none\" or \"tanh\", not \"{}\"", approximate));
}
Tensor silu(const Tensor& x) { return apply_pointwise(x, kSilu); }
Tensor mish(const Tensor& x) { return apply_pointwise(x, kMish); }
Tensor softplus(const Tensor& x, float beta, float threshold) {
  if (beta == 0.0f) throw ValueError("softplus: beta must not be 0 (the result divides by it)");
  return apply_pointwise(x, kSoftplus, {beta, threshold});
}
Tensor softsign(const Tensor& x) { return apply_pointwise(x, kSoftsign); }
Tensor relu6(const Tensor& x) { return apply_pointwise(x, kRelu6); }
Tensor hardtanh(const Tensor& x, float min_val, float max_val) {
  if (max_val < min_val)
    throw ValueError(
        fmt::format("hardtanh: max_val ({}) must not be less than min_val ({})", max_val, min_val));
  return apply_pointwise(x, kHardtanh, {min_val, max_val});
}
Tensor hardswish(const Tensor& x) { return apply_pointwise(x, kHardswish); }
Tensor hardsigmoid(const Tensor& x) { return apply_pointwise(x, kHardsigmoid); }
Tensor hardshrink(const Tensor& x, float lambd) { return apply_pointwise(x, kHardshrink, {lambd}); }
Tensor softshrink(const Tensor& x, float lambd) {
  if (lambd < 0.0f) throw ValueError(fmt::format("softshrink: lambd must be >= 0, not {}", lambd));
  return apply_pointwise(x, kSoftshrink, {lambd});
}
Tensor tanhshrink(const Tensor& x) { return apply_pointwise(x, kTanhshrink); }
Tensor logsigmoid(const Tensor& x) { return apply_pointwise(x, kLogSigmoid); }
Tensor threshold(const Tensor& x, float threshold, float value) {
  return apply_pointwise(x, kThreshold, {threshold, value});
}

// --- prelu ---------------------------------------------------------------------------------------

namespace {

// x seen as [outer, channels, inner]: channels = x.size(1) with one weight per channel, or a single
// weight for everything (then channels = 1, inner = numel).
struct PreluLayout {
  std::int64_t outer = 1, channels = 1, inner = 1;
};

// Entry: in = {x, weight}; i = {outer, channels, inner}.
//   dx = dy where x > 0, w·dy elsewhere;  dw[c] = Σ x·dy over the elements of channel c with x <= 0.
void prelu_backward(TapeEntry& e) {
  const PreluLayout l{e.i[0], e.i[1], e.i[2]};
  const float* x = e.in[0].data();
  const float* w = e.in[1].data();
  const float* gy = output_grad(e);
  float* gx = grad_for_accumulation(e.in[0]);
  float* gw = grad_for_accumulation(e.in[1]);
  for (std::int64_t c = 0; c < l.channels; ++c) {
    const float slope = w[c];
    double weight_grad = 0.0;
    for (std::int64_t o = 0; o < l.outer; ++o) {
      const std::int64_t base = (o * l.channels + c) * l.inner;
      const float* xs = x + base;
      const float* gys = gy + base;
      if (gx) {
        float* gxs = gx + base;
        for (std::int64_t j = 0; j < l.inner; ++j) gxs[j] += gys[j] * select(xs[j] > 0.0f, 1.0f, slope);
      }
      if (gw)
        for (std::int64_t j = 0; j < l.inner; ++j) weight_grad += select(xs[j] > 0.0f, 0.0f, xs[j] * gys[j]);
    }
    if (gw) gw[c] += static_cast<float>(weight_grad);
  }
}

}  // namespace

Tensor prelu(const Tensor& x, const Tensor& weight) {
  if (!x.defined() || !weight.defined()) throw ValueError("prelu: the input and the weight must be defined");
  PreluLayout l;
  if (weight.numel() == 1 && weight.ndim() <= 1) {
    l.inner = x.numel();
  } else {
    const std::int64_t channels = x.ndim() >= 2 ? x.size(1) : 1;
    if (weight.ndim() != 1 || weight.numel() != channels)
      throw ShapeError(fmt::format(
          "prelu: weight of shape {} does not fit input of shape {}: it needs 1 element or one per channel "
          "({} = dimension 1 of the input)",
          weight.shape().str(), x.shape().str(), channels));
    l.channels = channels;
    l.outer = x.ndim() >= 2 ? x.size(0) : 1;
    for (int k = 2; k < x.ndim(); ++k) l.inner *= x.size(k);
  }
  Tensor y = Tensor::empty(x.shape());
  const float* xs = x.data();
  const float* ws = weight.data();
  float* ys = y.data();
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t c = 0; c < l.channels; ++c) {
      const float slope = ws[c];
      const std::int64_t base = (o * l.channels + c) * l.inner;
      for (std::int64_t j = 0; j < l.inner; ++j) {
        const float v = xs[base + j];
        ys[base + j] = select(v > 0.0f, v, slope * v);
      }
    }
  if (TapeEntry* e = tape().record(y, &prelu_backward, "prelu", {x, weight}))
    e->i = {l.outer, l.channels, l.inner, 0};
  return y;
}

// --- glu -----------------------------------------------------------------------------------------

namespace {

// Entry: in = {x}; i = {outer, half_block} where half_block = (size / 2) · inner: x is
// [outer, 2, half_block] with a = x[:, 0], b = x[:, 1].  da = dy·σ(b),  db = dy·a·σ(b)(1 - σ(b)).
void glu_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const std::int64_t outer = e.i[0], half = e.i[1];
  const float* x = e.in[0].data();
  const float* gy = output_grad(e);
  for (std::int64_t o = 0; o < outer; ++o) {
    const float* a = x + o * 2 * half;
    const float* b = a + half;
    const float* g = gy + o * half;
    float* ga = gx + o * 2 * half;
    float* gb = ga + half;
    for (std::int64_t j = 0; j < half; ++j) {
      const SigmoidParts sp = sigmoid_parts(b[j]);
      ga[j] += g[j] * sp.s;
      gb[j] += g[j] * a[j] * sp.s_times_one_minus_s;
    }
  }
}

}  // namespace

Tensor glu(const Tensor& x, int dim) {
  if (x.ndim() == 0) throw ShapeError("glu: the input is a scalar; it needs a dimension to split in halves");
  const Shape& shape = x.shape();
  const int d = shape.normalize_dim(dim);
  const std::int64_t size = shape[d];
  if (size % 2 != 0)
    throw ShapeError(fmt::format("glu: dimension {} of the input {} has odd size {}; it must split in halves",
                                 d, shape.str(), size));
  std::int64_t outer = 1, inner = 1;
  for (int k = 0; k < d; ++k) outer *= shape[k];
  for (int k = d + 1; k < shape.ndim(); ++k) inner *= shape[k];
  const std::int64_t half = size / 2 * inner;
  Tensor y = Tensor::empty(shape.with_dim(d, size / 2));
  const float* xs = x.data();
  float* ys = y.data();
  for (std::int64_t o = 0; o < outer; ++o) {
    const float* a = xs + o * 2 * half;
    const float* b = a + half;
    float* out = ys + o * half;
    for (std::int64_t j = 0; j < half; ++j) out[j] = a[j] * vm::sigmoid(b[j]);
  }
  if (TapeEntry* e = tape().record(y, &glu_backward, "glu", {x})) e->i = {outer, half, 0, 0};
  return y;
}

}  // namespace bend
