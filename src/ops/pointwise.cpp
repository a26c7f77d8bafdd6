// apply_pointwise: runs a pointwise kernel forward and records its backward.
#include "bend/pointwise.hpp"

#include "bend/autograd.hpp"

namespace bend {

namespace {
// Entry: in[0] = x, out = y; ctx = the kernel; f = its parameters.
void pointwise_backward(TapeEntry& e) {
  const auto& kernel = *static_cast<const PointwiseKernel*>(e.ctx);
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const PointwiseParams p{e.f[0], e.f[1], e.f[2]};
  kernel.backward(e.in[0].data(), e.out.data(), output_grad(e), gx, e.out.numel(), p);
}
}  // namespace

Tensor apply_pointwise(const Tensor& x, const PointwiseKernel& kernel, PointwiseParams params) {
  Tensor y = Tensor::empty(x.shape());
  kernel.forward(x.data(), y.data(), x.numel(), params);
  if (TapeEntry* e = tape().record(y, &pointwise_backward, kernel.name, {x})) {
    e->ctx = &kernel;
    e->f = {params.a, params.b, params.c, 0.0f};
  }
  return y;
}

}  // namespace bend
