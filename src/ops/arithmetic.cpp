// add, sub, mul, div between tensors (with broadcasting) and with scalars. Each binary op is a struct
// with its value and both partial derivatives side by side; one generic forward and one generic
// backward run them, with a fast path for equal shapes.
#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/pointwise.hpp"
#include "broadcast.hpp"

namespace bend {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.ndim(), b.ndim());
  std::int64_t dims[Shape::kMaxDims];
  for (int k = 0; k < n; ++k) {
    // Align from the right.
    const int ia = a.ndim() - n + k, ib = b.ndim() - n + k;
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} cannot be broadcast (dimension {}: {} vs {})", op,
                                   a.str(), b.str(), k, da, db));
    dims[k] = da == 1 ? db : da;
  }
  return Shape(std::span<const std::int64_t>(dims, static_cast<std::size_t>(n)));
}

namespace {

struct Add {
  static constexpr const char* name = "add";
  static float value(float a, float b) { return a + b; }
  static float da(float, float) { return 1.0f; }
  static float db(float, float) { return 1.0f; }
};
struct Sub {
  static constexpr const char* name = "sub";
  static float value(float a, float b) { return a - b; }
  static float da(float, float) { return 1.0f; }
  static float db(float, float) { return -1.0f; }
};
struct Mul {
  static constexpr const char* name = "mul";
  static float value(float a, float b) { return a * b; }
  static float da(float, float b) { return b; }
  static float db(float a, float) { return a; }
};
struct Div {
  static constexpr const char* name = "div";
  static float value(float a, float b) { return a / b; }
  static float da(float, float b) { return 1.0f / b; }
  static float db(float a, float b) { return -a / (b * b); }
};

// Entry: in = {a, b}, out = y.
template <class Op>
void binary_backward(TapeEntry& e) {
  const Tensor &a = e.in[0], &b = e.in[1];
  const float* gy = output_grad(e);
  const float *pa = a.data(), *pb = b.data();
  if (a.shape() == b.shape()) {
    // A gradient that holds zeros is written, not filled and added to (a residual's add: half the
    // traffic). b's target is taken after a's loop, so that `x + x` writes once and then adds.
    const std::int64_t n = a.numel();
    if (const GradTarget ga = grad_target(a)) {
      float* __restrict g = ga.data;
      if (ga.is_zero)
        for (std::int64_t k = 0; k < n; ++k) g[k] = gy[k] * Op::da(pa[k], pb[k]);
      else
        for (std::int64_t k = 0; k < n; ++k) g[k] += gy[k] * Op::da(pa[k], pb[k]);
    }
    if (const GradTarget gb = grad_target(b)) {
      float* __restrict g = gb.data;
      if (gb.is_zero)
        for (std::int64_t k = 0; k < n; ++k) g[k] = gy[k] * Op::db(pa[k], pb[k]);
      else
        for (std::int64_t k = 0; k < n; ++k) g[k] += gy[k] * Op::db(pa[k], pb[k]);
    }
    return;
  }
  float* ga = grad_for_accumulation(a);
  float* gb = grad_for_accumulation(b);
  detail::for_each_broadcast(e.out.shape(), a.shape(), b.shape(),
                             [&](std::int64_t o, std::int64_t ia, std::int64_t ib) {
                               if (ga) ga[ia] += gy[o] * Op::da(pa[ia], pb[ib]);
                               if (gb) gb[ib] += gy[o] * Op::db(pa[ia], pb[ib]);
                             });
}

template <class Op>
Tensor binary(const Tensor& a, const Tensor& b) {
  const float *pa = a.data(), *pb = b.data();
  Tensor y;
  if (a.shape() == b.shape()) {
    y = Tensor::empty(a.shape());
    float* __restrict py = y.data();
    const std::int64_t n = a.numel();
    for (std::int64_t k = 0; k < n; ++k) py[k] = Op::value(pa[k], pb[k]);
  } else {
    y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), Op::name));
    float* py = y.data();
    detail::for_each_broadcast(
        y.shape(), a.shape(), b.shape(),
        [&](std::int64_t o, std::int64_t ia, std::int64_t ib) { py[o] = Op::value(pa[ia], pb[ib]); });
  }
  tape().record(y, &binary_backward<Op>, Op::name, {a, b});
  return y;
}

// Scalar versions are pointwise functions of one tensor; a = the scalar.
struct AddScalar {
  static float value(float x, const PointwiseParams& p) { return x + p.a; }
  static float derivative(float, float, const PointwiseParams&) { return 1.0f; }
};
struct MulScalar {
  static float value(float x, const PointwiseParams& p) { return x * p.a; }
  static float derivative(float, float, const PointwiseParams& p) { return p.a; }
};
struct DivScalar {
  static float value(float x, const PointwiseParams& p) { return x / p.a; }
  static float derivative(float, float, const PointwiseParams& p) { return 1.0f / p.a; }
};
constexpr PointwiseKernel kAddScalar = make_pointwise_kernel<AddScalar>("add");
constexpr PointwiseKernel kMulScalar = make_pointwise_kernel<MulScalar>("mul");
constexpr PointwiseKernel kDivScalar = make_pointwise_kernel<DivScalar>("div");

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary<Add>(a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary<Sub>(a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary<Mul>(a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary<Div>(a, b); }
Tensor add(const Tensor& a, float b) { return apply_pointwise(a, kAddScalar, {b}); }
Tensor mul(const Tensor& a, float b) { return apply_pointwise(a, kMulScalar, {b}); }
Tensor div(const Tensor& a, float b) { return apply_pointwise(a, kDivScalar, {b}); }

}  // namespace bend
