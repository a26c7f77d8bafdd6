#pragma once
// Helpers shared by the tests: random tensors and element-wise comparison against double references.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "bend/bend.hpp"

namespace bend::testing {

inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -2.0f, float hi = 2.0f,
                            bool grad = true) {
  Tensor t = Tensor::uniform(shape, lo, hi, rng);
  if (grad) t.requires_grad_();
  return t;
}

// Checks every element of `actual` against reference(i) within atol + rtol·|ref|.
inline void check_close(const Tensor& actual, const std::function<double(std::int64_t)>& reference,
                        double rtol = 1e-5, double atol = 1e-6) {
  const float* p = actual.data();
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    const double ref = reference(i);
    INFO("element " << i << ": got " << p[i] << ", expected " << ref);
    REQUIRE(std::abs(p[i] - ref) <= atol + rtol * std::abs(ref));
  }
}

inline void check_close(const Tensor& actual, const std::vector<double>& expected, double rtol = 1e-5,
                        double atol = 1e-6) {
  REQUIRE(actual.numel() == static_cast<std::int64_t>(expected.size()));
  check_close(
      actual, [&](std::int64_t i) { return expected[static_cast<std::size_t>(i)]; }, rtol, atol);
}

// gradcheck that also insists the gradient is not identically zero.
inline void require_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              GradcheckOptions o = {}) {
  const GradcheckResult r = gradcheck(f, inputs, o);
  INFO(r.message);
  REQUIRE(r.ok);
  REQUIRE(r.min_analytic_norm > 1e-6);
}

}  // namespace bend::testing
