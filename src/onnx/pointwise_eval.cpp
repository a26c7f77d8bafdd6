#include "pointwise_eval.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "bend/tensor.hpp"

namespace bend::onnx::detail {
namespace {

namespace pb = ::onnx;
using Values = std::vector<double>;

constexpr std::array kOps = {
    "Relu",
    "Sigmoid",
    "Tanh",
    "Erf",
    "Exp",
    "Log",
    "Abs",
    "Neg",
    "Sqrt",
    "Reciprocal",
    "Softplus",
    "Softsign",
    "HardSwish",
    "LeakyRelu",
    "Elu",
    "Celu",
    "Selu",
    "HardSigmoid",
    "Shrink",
    "ThresholdedRelu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Min",
    "Max",
    "Sum",
    "Clip",
    "Where",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "Identity",
};

float attribute(const pb::NodeProto& n, std::string_view name, float fallback) {
  for (const pb::AttributeProto& a : n.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

// The probe points: a grid that avoids the round numbers where functions switch branches, and the tails.
Values probes() {
  Values p;
  for (double v = -12.0137; v < 12.0; v += 0.0519) p.push_back(v);
  for (double v : {-40.3, -25.1, -19.7, -15.2, -1e-3, 1e-3, 15.2, 19.7, 25.1, 40.3}) p.push_back(v);
  return p;
}

}  // namespace

bool is_pointwise(std::string_view op) { return std::find(kOps.begin(), kOps.end(), op) != kOps.end(); }

PointwiseMatch match_pointwise(const std::vector<const pb::NodeProto*>& run, const std::string& x,
                               const std::function<std::optional<double>(const std::string&)>& scalar_of) {
  PointwiseMatch out;
  const Values p = probes();
  const std::size_t size = p.size();
  std::map<std::string, Values> values{{x, p}};
  for (const pb::NodeProto* node : run) {
    const pb::NodeProto& n = *node;
    std::vector<Values> in;
    for (const std::string& name : n.input()) {
      if (name.empty()) {
        in.emplace_back();  // an optional input left out
        continue;
      }
      if (const auto it = values.find(name); it != values.end()) {
        in.push_back(it->second);
      } else if (const std::optional<double> s = scalar_of(name)) {
        in.emplace_back(size, *s);
      } else {
        out.error = fmt::format("input '{}' is neither the layer's input nor a scalar constant", name);
        return out;
      }
    }
    const std::string& op = n.op_type();
    Values y(size);
    auto unary = [&](auto f) {
      for (std::size_t i = 0; i < size; ++i) y[i] = f(in[0][i]);
    };
    auto binary = [&](auto f) {
      for (std::size_t i = 0; i < size; ++i) y[i] = f(in[0][i], in[1][i]);
    };
    const std::size_t arity = in.size();
    if (arity == 0 || in[0].empty()) {
      out.error = "its first input is missing";
      return out;
    }
    if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Greater" ||
         op == "Less" || op == "GreaterOrEqual" || op == "LessOrEqual") &&
        (arity != 2 || in[1].empty())) {
      out.error = fmt::format("{} inputs where {} takes 2", arity, op);
      return out;
    }
    if (op == "Relu")
      unary([](double v) { return v > 0 ? v : 0.0; });
    else if (op == "Sigmoid")
      unary([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
    else if (op == "Tanh")
      unary([](double v) { return std::tanh(v); });
    else if (op == "Erf")
      unary([](double v) { return std::erf(v); });
    else if (op == "Exp")
      unary([](double v) { return std::exp(v); });
    else if (op == "Log")
      unary([](double v) { return std::log(v); });
    else if (op == "Abs")
      unary([](double v) { return std::abs(v); });
    else if (op == "Neg")
      unary([](double v) { return -v; });
    else if (op == "Sqrt")
      unary([](double v) { return std::sqrt(v); });
    else if (op == "Reciprocal")
      unary([](double v) { return 1.0 / v; });
    else if (op == "Identity")
      unary([](double v) { return v; });
    else if (op == "Softplus")
      unary([](double v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
    else if (op == "Softsign")
      unary([](double v) { return v / (1.0 + std::abs(v)); });
    else if (op == "HardSwish")
      unary([](double v) { return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0); });
    else if (op == "LeakyRelu") {
      const double a = attribute(n, "alpha", 0.01f);
      unary([a](double v) { return v >= 0 ? v : a * v; });
    } else if (op == "Elu") {
      const double a = attribute(n, "alpha", 1.0f);
      unary([a](double v) { return v >= 0 ? v : a * std::expm1(v); });
    } else if (op == "Celu") {
      const double a = attribute(n, "alpha", 1.0f);
      unary([a](double v) { return std::max(0.0, v) + std::min(0.0, a * std::expm1(v / a)); });
    } else if (op == "Selu") {
      const double a = attribute(n, "alpha", 1.67326319217681884765625f),
                   g = attribute(n, "gamma", 1.05070102214813232421875f);
      unary([a, g](double v) { return v > 0 ? g * v : g * a * std::expm1(v); });
    } else if (op == "HardSigmoid") {
      const double a = attribute(n, "alpha", 0.2f), b = attribute(n, "beta", 0.5f);
      unary([a, b](double v) { return std::clamp(a * v + b, 0.0, 1.0); });
    } else if (op == "Shrink") {
      const double l = attribute(n, "lambd", 0.5f), b = attribute(n, "bias", 0.0f);
      unary([l, b](double v) { return v < -l ? v + b : v > l ? v - b : 0.0; });
    } else if (op == "ThresholdedRelu") {
      const double a = attribute(n, "alpha", 1.0f);
      unary([a](double v) { return v > a ? v : 0.0; });
    } else if (op == "Add")
      binary([](double a, double b) { return a + b; });
    else if (op == "Sub")
      binary([](double a, double b) { return a - b; });
    else if (op == "Mul")
      binary([](double a, double b) { return a * b; });
    else if (op == "Div")
      binary([](double a, double b) { return a / b; });
    else if (op == "Pow")
      binary([](double a, double b) { return std::pow(a, b); });
    else if (op == "Greater")
      binary([](double a, double b) { return a > b ? 1.0 : 0.0; });
    else if (op == "Less")
      binary([](double a, double b) { return a < b ? 1.0 : 0.0; });
    else if (op == "GreaterOrEqual")
      binary([](double a, double b) { return a >= b ? 1.0 : 0.0; });
    else if (op == "LessOrEqual")
      binary([](double a, double b) { return a <= b ? 1.0 : 0.0; });
    else if (op == "Min" || op == "Max" || op == "Sum") {
      y = in[0];
      for (std::size_t k = 1; k < arity; ++k)
        for (std::size_t i = 0; i < size; ++i)
          y[i] = op == "Min"   ? std::min(y[i], in[k][i])
                 : op == "Max" ? std::max(y[i], in[k][i])
                               : y[i] + in[k][i];
    } else if (op == "Clip") {
      double lo = attribute(n, "min", -INFINITY), hi = attribute(n, "max", INFINITY);  // opset < 11
      for (std::size_t i = 0; i < size; ++i) {
        const double l = arity > 1 && !in[1].empty() ? in[1][i] : lo,
                     h = arity > 2 && !in[2].empty() ? in[2][i] : hi;
        y[i] = std::min(std::max(in[0][i], l), h);
      }
    } else if (op == "Where") {
      if (arity != 3) {
        out.error = fmt::format("{} inputs where Where takes 3", arity);
        return out;
      }
      for (std::size_t i = 0; i < size; ++i) y[i] = in[0][i] != 0.0 ? in[1][i] : in[2][i];
    } else {
      out.error = fmt::format("op {} is not pointwise for bend", op);
      return out;
    }
    values[n.output(0)] = std::move(y);
  }
  const Values& f = values.at(run.back()->output(0));

  // scale * x + shift?
  const std::size_t a = 0, b = size / 2;
  const double scale = (f[b] - f[a]) / (p[b] - p[a]), shift = f[a] - scale * p[a];
  out.affine = std::all_of(p.begin(), p.end(), [&, i = std::size_t{0}](double) mutable {
    const bool close = std::abs(f[i] - (scale * p[i] + shift)) <= 1e-6 * (1.0 + std::abs(f[i]));
    ++i;
    return close;
  });
  if (out.affine) {
    out.scale = scale;
    out.shift = shift;
  }
  std::vector<float> probe_floats(p.begin(), p.end());
  const Tensor probe = Tensor::from(std::span<const float>(probe_floats), {static_cast<std::int64_t>(size)});
  for (const ActivationInfo& info : activation_table()) {
    if (info.learnable) continue;  // PReLU: a PRelu node with its slope
    const std::vector<float> expected = activate(probe, info).to_vector();
    bool same = true;
    for (std::size_t i = 0; i < size && same; ++i)
      same = std::abs(f[i] - expected[i]) <= 1e-5 * (1.0 + std::abs(static_cast<double>(expected[i])));
    if (same) {
      out.activation = &info;
      break;
    }
  }
  return out;
}

}  // namespace bend::onnx::detail
