// gradcheck: finite differences against the tape (see bend/gradcheck.hpp for the method).
#include "bend/gradcheck.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

double weighted_sum(const Tensor& y, const std::vector<float>& u) {
  double total = 0.0;
  const float* p = y.data();
  for (std::size_t k = 0; k < u.size(); ++k) total += static_cast<double>(p[k]) * u[k];
  return total;
}

double norm(const float* p, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t k = 0; k < n; ++k) s += static_cast<double>(p[k]) * p[k];
  return std::sqrt(s);
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  GradcheckResult result;
  Rng rng(options.seed);

  // Saved gradients of the inputs, restored at the end.
  std::vector<Tensor> saved_grads;
  for (const Tensor& x : inputs) {
    saved_grads.push_back(x.grad());
    if (x.requires_grad()) const_cast<Tensor&>(x).set_grad(Tensor());
  }

  // Analytic: one backward of L = Σ u ⊙ f(x).
  Tensor y = f(inputs);
  std::vector<float> u(static_cast<std::size_t>(y.numel()));
  for (float& w : u) w = rng.uniform(0.5f, 1.5f) * (rng.uniform() < 0.5f ? -1.0f : 1.0f);
  if (!y.requires_grad()) throw AutogradError("gradcheck: the function's output does not require grad");
  y.backward(Tensor::from(std::span<const float>(u), y.shape()));

  std::vector<Tensor> analytic;
  for (const Tensor& x : inputs) analytic.push_back(x.requires_grad() ? x.grad() : Tensor());

  double min_norm = INFINITY;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    const std::int64_t n = x.numel();
    std::vector<float> g(static_cast<std::size_t>(n), 0.0f);
    if (analytic[k].defined()) std::copy_n(analytic[k].data(), n, g.begin());
    min_norm = std::min(min_norm, norm(g.data(), n));

    // The step scales with the input's size so that large inputs are not probed below float precision.
    double scale = 0.0;
    for (std::int64_t j = 0; j < n; ++j) scale = std::max(scale, std::abs(static_cast<double>(x.data()[j])));
    const double eps = options.eps * std::max(1.0, scale);

    Tensor xm = const_cast<Tensor&>(x);
    std::vector<float> original(x.data(), x.data() + n);
    for (int d = 0; d < options.directions; ++d) {
      std::vector<double> v(static_cast<std::size_t>(n));
      double vn = 0.0;
      for (double& c : v) {
        c = rng.normal();
        vn += c * c;
      }
      vn = std::sqrt(vn);
      for (double& c : v) c /= vn;

      double analytic_dot = 0.0;
      for (std::int64_t j = 0; j < n; ++j)
        analytic_dot += g[static_cast<std::size_t>(j)] * v[static_cast<std::size_t>(j)];

      auto evaluate_at = [&](double step) {
        for (std::int64_t j = 0; j < n; ++j)
          xm.data()[j] = static_cast<float>(original[static_cast<std::size_t>(j)] +
                                            step * v[static_cast<std::size_t>(j)]);
        NoGradGuard no_grad;
        return weighted_sum(f(inputs), u);
      };
      const double plus = evaluate_at(eps), minus = evaluate_at(-eps);
      std::copy(original.begin(), original.end(), xm.data());
      const double numerical = (plus - minus) / (2.0 * eps);
      const double err = std::abs(analytic_dot - numerical);
      result.max_abs_error = std::max(result.max_abs_error, err);
      const double allowed =
          options.atol + options.rtol * std::max(std::abs(analytic_dot), std::abs(numerical));
      if (!(err <= allowed) && result.ok) {
        result.ok = false;
        result.message = fmt::format(
            "gradcheck: input {} (shape {}), direction {}: analytic {:.6g} vs numerical {:.6g} (error {:.3g} "
            "> "
            "allowed {:.3g})",
            k, x.shape().str(), d, analytic_dot, numerical, err, allowed);
      }
    }
  }
  result.min_analytic_norm = std::isfinite(min_norm) ? min_norm : 0.0;

  for (std::size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].requires_grad()) const_cast<Tensor&>(inputs[k]).set_grad(saved_grads[k]);
  return result;
}

}  // namespace bend
