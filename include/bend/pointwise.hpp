#pragma once
// The elementwise machinery. A pointwise function is a struct with its value and its derivative side
// by side:
//
//   struct Exp {
//     static float value(float x, const PointwiseParams&) { return vm::exp(x); }
//     static float derivative(float x, float y, const PointwiseParams&) { return y; }  // y = value(x)
//   };
//
// make_pointwise_kernel<Exp>() turns it into a pair of tight loops (forward, backward) that the
// compiler inlines and vectorises (built for SSE2, AVX2 and AVX-512, picked at load time; see
// bend/detail/multiversion.hpp); apply_pointwise() (declared in bend/ops.hpp) runs the forward loop, split
// across bend's threads when the tensor is large, and records the backward one on the tape. One indirect call
// per op and thread, none per element. Activations (bend/activations.hpp) are pointwise functions with more
// metadata.
#include <cstdint>

#include "bend/detail/multiversion.hpp"
#include "bend/tensor.hpp"

namespace bend {

// Up to three scalar parameters of a pointwise function (slope, alpha, beta, threshold, ...).
struct PointwiseParams {
  float a = 0.0f, b = 0.0f, c = 0.0f;
};

struct PointwiseKernel {
  const char* name;
  // y[i] = f(x[i])
  void (*forward)(const float* x, float* y, std::int64_t n, const PointwiseParams& p);
  // gx[i] += gy[i] * f'(x[i]) (y = f(x) is given so derivatives can reuse it)
  void (*backward)(const float* x, const float* y, const float* gy, float* gx, std::int64_t n,
                   const PointwiseParams& p);
  // gx[i] = gy[i] * f'(x[i]): backward into a gradient that holds zeros (see grad_target)
  void (*backward_write)(const float* x, const float* y, const float* gy, float* gx, std::int64_t n,
                         const PointwiseParams& p);
  // d[i] = f'(x[i]) (for diagnostics and tests)
  void (*derivative)(const float* x, const float* y, float* d, std::int64_t n, const PointwiseParams& p);
};

template <class F>
BEND_MULTIVERSION void pointwise_forward_loop(const float* __restrict x, float* __restrict y, std::int64_t n,
                                              const PointwiseParams& p) {
  const PointwiseParams q = p;  // a local copy: no aliasing with y
  for (std::int64_t i = 0; i < n; ++i) y[i] = F::value(x[i], q);
}

template <class F, bool kAccumulate>
BEND_MULTIVERSION void pointwise_backward_loop(const float* __restrict x, const float* __restrict y,
                                               const float* __restrict gy, float* __restrict gx,
                                               std::int64_t n, const PointwiseParams& p) {
  const PointwiseParams q = p;
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = gy[i] * F::derivative(x[i], y[i], q);
    if constexpr (kAccumulate)
      gx[i] += g;
    else
      gx[i] = g;
  }
}

template <class F>
BEND_MULTIVERSION void pointwise_derivative_loop(const float* __restrict x, const float* __restrict y,
                                                 float* __restrict d, std::int64_t n,
                                                 const PointwiseParams& p) {
  const PointwiseParams q = p;
  for (std::int64_t i = 0; i < n; ++i) d[i] = F::derivative(x[i], y[i], q);
}

template <class F>
constexpr PointwiseKernel make_pointwise_kernel(const char* name) {
  return {name, &pointwise_forward_loop<F>, &pointwise_backward_loop<F, true>,
          &pointwise_backward_loop<F, false>, &pointwise_derivative_loop<F>};
}

}  // namespace bend
