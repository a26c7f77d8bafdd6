// batch_norm: PyTorch's F.batch_norm, per channel c of x [N, C, *] (S = the product of *, M = N·S).
// Training (batch statistics):
//   mean = Σx / M,  var = Σ(x - mean)² / M (biased),  invstd = 1/√(var + eps)
//   running_mean ← (1 - momentum)·running_mean + momentum·mean
//   running_var  ← (1 - momentum)·running_var  + momentum·var·M/(M - 1)    (unbiased)
// Eval: mean, invstd from running_mean, running_var (not updated).
// Both: y = x·scale + shift with scale = γ·invstd, shift = β - mean·scale (γ = 1, β = 0 without affine).
// Backward (sums over the channel's M elements):
//   dβ += Σdy,  dγ += Σdy·(x - mean)·invstd
//   training: dx = γ·invstd·(dy - Σdy/M - (x - mean)·invstd²·Σdy·(x - mean)/M);  eval: dx = γ·invstd·dy
// Statistics accumulate in double (as PyTorch's CPU kernel does for float). Channels are split across
// threads; each channel's inner loops run over contiguous spans of S floats and vectorise.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "lane_sums.hpp"

namespace bend {
namespace {

struct BatchNormLayout {
  std::int64_t batch, channels, spatial;  // x viewed as [N, C, S]
  std::int64_t per_channel() const { return batch * spatial; }
};

BatchNormLayout batch_norm_layout(const Tensor& x) {
  return {x.size(0), x.size(1), x.size(0) * x.size(1) == 0 ? 0 : x.numel() / (x.size(0) * x.size(1))};
}

// Calls body(c0, c1) for blocks of channels split across threads when x is large enough.
template <class Body>
void for_channel_blocks(const BatchNormLayout& l, Body&& body) {
  parallel_for(parts_for_elementwise(l.batch * l.channels * l.spatial), [&](int part, int parts) {
    const auto [c0, c1] = split_range(l.channels, part, parts, 1);
    body(c0, c1);
  });
}

// Entry: in = {x, weight, bias}; saved[0] = [2, C]: the mean and invstd used; i[0] = 1 when they were
// the batch's (training).
void batch_norm_backward(TapeEntry& e) {
  const Tensor &x = e.in[0], &w = e.in[1];
  const BatchNormLayout l = batch_norm_layout(x);
  const GradTarget gx = grad_target(x), gw = grad_target(w), gb = grad_target(e.in[2]);
  const float* gy = output_grad(e);
  const float* stats = e.saved[0].data();
  const bool batch_stats = e.i[0] != 0;
  const std::int64_t m = l.per_channel(), s = l.spatial;
  for_channel_blocks(l, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const float mean = stats[c], invstd = stats[l.channels + c];
      double sum_dy = 0.0, sum_dy_centered = 0.0;
      for (std::int64_t n = 0; n < l.batch; ++n) {
        const float* dy = gy + (n * l.channels + c) * s;
        const float* xs = x.data() + (n * l.channels + c) * s;
        sum_dy += detail::lane_sum(dy, s);
        sum_dy_centered += detail::lane_dot(dy, xs, s) - static_cast<double>(mean) * detail::lane_sum(dy, s);
      }
      if (gb) gb.data[c] = static_cast<float>(sum_dy) + (gb.is_zero ? 0.0f : gb.data[c]);
      if (gw) gw.data[c] = static_cast<float>(sum_dy_centered * invstd) + (gw.is_zero ? 0.0f : gw.data[c]);
      if (!gx) continue;
      const float scale = (w.defined() ? w.data()[c] : 1.0f) * invstd;
      // dx = scale·dy - scale·mean_dy - scale·k·(x - mean), folded into dx = a·dy + b·x + d.
      const float mean_dy = batch_stats ? static_cast<float>(sum_dy / static_cast<double>(m)) : 0.0f;
      const float k =
          batch_stats ? static_cast<float>(sum_dy_centered / static_cast<double>(m)) * invstd * invstd : 0.0f;
      const float a = scale, b = -scale * k, d = scale * (k * mean - mean_dy);
      for (std::int64_t n = 0; n < l.batch; ++n) {
        const std::int64_t offset = (n * l.channels + c) * s;
        const float* dy = gy + offset;
        const float* xs = x.data() + offset;
        float* dx = gx.data + offset;
        if (gx.is_zero)
          for (std::int64_t j = 0; j < s; ++j) dx[j] = a * dy[j] + b * xs[j] + d;
        else
          for (std::int64_t j = 0; j < s; ++j) dx[j] += a * dy[j] + b * xs[j] + d;
      }
    }
  });
}

void check_channel_vector(const Tensor& t, const char* name, const Tensor& x) {
  if (t.defined() && !(t.shape() == Shape{x.size(1)}))
    throw ShapeError(fmt::format("batch_norm: {} {} does not fit input {} (expected [{}])", name,
                                 t.shape().str(), x.shape().str(), x.size(1)));
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum, float eps) {
  if (x.ndim() < 2)
    throw ShapeError(
        fmt::format("batch_norm: input {} must have a channel dimension: [N, C, *]", x.shape().str()));
  check_channel_vector(running_mean, "running_mean", x);
  check_channel_vector(running_var, "running_var", x);
  check_channel_vector(weight, "weight", x);
  check_channel_vector(bias, "bias", x);
  if (running_mean.defined() != running_var.defined())
    throw ValueError("batch_norm: give both running_mean and running_var, or neither");
  if (!training && !running_mean.defined())
    throw ValueError("batch_norm: eval mode needs running_mean and running_var");
  const BatchNormLayout l = batch_norm_layout(x);
  const std::int64_t m = l.per_channel(), s = l.spatial;
  if (training && m <= 1)
    throw ValueError(fmt::format(
        "batch_norm: expected more than 1 value per channel when training, got input {}", x.shape().str()));

  Tensor stats = Tensor::empty(Shape{2, l.channels});  // mean, invstd
  Tensor y = Tensor::empty(x.shape());
  // The running statistics are updated in place (as PyTorch's); the handles share their data.
  float* running_means = running_mean.defined() ? Tensor(running_mean).data() : nullptr;
  float* running_vars = running_var.defined() ? Tensor(running_var).data() : nullptr;
  float* mean_of = stats.data();
  float* invstd_of = stats.data() + l.channels;
  for_channel_blocks(l, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      if (training) {
        double total = 0.0;
        for (std::int64_t n = 0; n < l.batch; ++n)
          total += detail::lane_sum(x.data() + (n * l.channels + c) * s, s);
        const double mean = total / static_cast<double>(m);
        double squares = 0.0;
        for (std::int64_t n = 0; n < l.batch; ++n)
          squares += detail::lane_sum_squared_deviation(x.data() + (n * l.channels + c) * s, s, mean);
        const double var = squares / static_cast<double>(m);
        mean_of[c] = static_cast<float>(mean);
        invstd_of[c] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
        if (running_means) {
          float& rm = running_means[c];
          float& rv = running_vars[c];
          const double unbiased = squares / static_cast<double>(m - 1);
          rm = static_cast<float>(momentum * mean + (1.0 - momentum) * rm);
          rv = static_cast<float>(momentum * unbiased + (1.0 - momentum) * rv);
        }
      } else {
        mean_of[c] = running_means[c];
        invstd_of[c] = 1.0f / std::sqrt(running_vars[c] + eps);
      }
      const float scale = (weight.defined() ? weight.data()[c] : 1.0f) * invstd_of[c];
      const float shift = (bias.defined() ? bias.data()[c] : 0.0f) - mean_of[c] * scale;
      for (std::int64_t n = 0; n < l.batch; ++n) {
        const float* xs = x.data() + (n * l.channels + c) * s;
        float* ys = y.data() + (n * l.channels + c) * s;
        for (std::int64_t j = 0; j < s; ++j) ys[j] = xs[j] * scale + shift;
      }
    }
  });
  if (TapeEntry* e = tape().record(y, &batch_norm_backward, "batch_norm", {x, weight, bias})) {
    e->saved[0] = stats;
    e->i[0] = training ? 1 : 0;
  }
  return y;
}

}  // namespace bend
