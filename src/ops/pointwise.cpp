// apply_pointwise: runs a pointwise kernel forward and records its backward.
#include "bend/pointwise.hpp"

#include "bend/autograd.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"

namespace bend {

namespace {
// Entry: in[0] = x, out = y; ctx = the kernel; f = its parameters.
void pointwise_backward(TapeEntry& e) {
  const auto& kernel = *static_cast<const PointwiseKernel*>(e.ctx);
  const GradTarget target = grad_target(e.in[0]);
  if (!target) return;
  float* gx = target.data;
  const auto backward = target.is_zero ? kernel.backward_write : kernel.backward;
  const PointwiseParams p{e.f[0], e.f[1], e.f[2]};
  const float *x = e.in[0].data(), *y = e.out.data(), *gy = output_grad(e);
  const std::int64_t n = e.out.numel();
  parallel_for_elements(n, [&](std::int64_t begin, std::int64_t end) {
    backward(x + begin, y + begin, gy + begin, gx + begin, end - begin, p);
  });
}
}  // namespace

Tensor apply_pointwise(const Tensor& x, const PointwiseKernel& kernel, PointwiseParams params) {
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  const std::int64_t n = x.numel();
  parallel_for_elements(n, [&](std::int64_t begin, std::int64_t end) {
    kernel.forward(px + begin, py + begin, end - begin, params);
  });
  if (TapeEntry* e = tape().record(y, &pointwise_backward, kernel.name, {x})) {
    e->ctx = &kernel;
    e->f = {params.a, params.b, params.c, 0.0f};
  }
  return y;
}

}  // namespace bend
