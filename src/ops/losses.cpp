// Losses, each fused into one op with its backward beside it:
//   cross_entropy  (log-softmax + NLL from logits, optional label smoothing)
//   nll_loss       (from log-probabilities)
//   mse_loss
//   binary_cross_entropy_with_logits (stable form)
//   gaussian_nll_loss (mean and variance predicted; var clamped to eps outside autograd)
// Values follow torch.nn.functional with reduction 'mean' | 'sum' | 'none'. Sums accumulate in double.
#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/vecmath.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

// Checks logits/log-probs [N, C] against N class indices in [0, C).
void check_class_targets(const char* op, const Tensor& scores, std::span<const std::int32_t> targets) {
  if (scores.ndim() != 2)
    throw ShapeError(fmt::format("{}: input must be [N, C], got {}", op, scores.shape().str()));
  const std::int64_t n = scores.size(0), classes = scores.size(1);
  if (static_cast<std::int64_t>(targets.size()) != n)
    throw ShapeError(fmt::format("{}: input {} has {} rows but {} targets were given", op,
                                 scores.shape().str(), n, targets.size()));
  for (std::size_t i = 0; i < targets.size(); ++i)
    if (targets[i] < 0 || targets[i] >= classes)
      throw ValueError(fmt::format("{}: target {} at index {} is out of range for {} classes", op, targets[i],
                                   i, classes));
}

// A scalar for 'mean'/'sum', one value per sample for 'none'.
Tensor make_loss_output(Reduction r, const Shape& per_sample) {
  return Tensor::empty(r == Reduction::None ? per_sample : Shape{});
}
void reduce_into(Tensor& out, Reduction r, const double* per_sample, std::int64_t n) {
  if (r == Reduction::None) {
    for (std::int64_t i = 0; i < n; ++i) out.data()[i] = static_cast<float>(per_sample[i]);
    return;
  }
  double total = 0.0;
  for (std::int64_t i = 0; i < n; ++i) total += per_sample[i];
  out.data()[0] = static_cast<float>(r == Reduction::Mean ? total / static_cast<double>(n) : total);
}
// d(loss)/d(sample i's loss) given the upstream gradient.
inline float sample_grad(const float* gy, Reduction r, std::int64_t i, float mean_scale) {
  return r == Reduction::None ? gy[i] : gy[0] * (r == Reduction::Mean ? mean_scale : 1.0f);
}

// ---- cross_entropy ----
// Entry: in = {logits}; saved = {softmax probabilities [N, C], targets as floats [N]};
// i[0] = reduction; f[0] = label smoothing.
void cross_entropy_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const auto r = static_cast<Reduction>(e.i[0]);
  const float eps = e.f[0];
  const std::int64_t n = e.in[0].size(0), classes = e.in[0].size(1);
  const float* p = e.saved[0].data();
  const float* t = e.saved[1].data();
  const float* gy = output_grad(e);
  const float off = eps / static_cast<float>(classes);
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = sample_grad(gy, r, i, 1.0f / static_cast<float>(n));
    const auto target = static_cast<std::int64_t>(t[i]);
    float* row = gx + i * classes;
    const float* pr = p + i * classes;
    for (std::int64_t c = 0; c < classes; ++c) row[c] += g * (pr[c] - off);
    row[target] -= g * (1.0f - eps);
  }
}

// ---- nll_loss ----
// Entry: in = {log_probs}; saved = {targets as floats}; i[0] = reduction.
void nll_backward(TapeEntry& e) {
  float* gx = grad_for_accumulation(e.in[0]);
  if (!gx) return;
  const auto r = static_cast<Reduction>(e.i[0]);
  const std::int64_t n = e.in[0].size(0), classes = e.in[0].size(1);
  const float* t = e.saved[0].data();
  const float* gy = output_grad(e);
  for (std::int64_t i = 0; i < n; ++i)
    gx[i * classes + static_cast<std::int64_t>(t[i])] -= sample_grad(gy, r, i, 1.0f / static_cast<float>(n));
}

// ---- mse_loss ----
// Entry: in = {input, target}; i[0] = reduction.
void mse_backward(TapeEntry& e) {
  const auto r = static_cast<Reduction>(e.i[0]);
  const std::int64_t n = e.in[0].numel();
  const float *a = e.in[0].data(), *b = e.in[1].data(), *gy = output_grad(e);
  float* ga = grad_for_accumulation(e.in[0]);
  float* gb = grad_for_accumulation(e.in[1]);
  for (std::int64_t k = 0; k < n; ++k) {
    const float d = 2.0f * (a[k] - b[k]) * sample_grad(gy, r, k, 1.0f / static_cast<float>(n));
    if (ga) ga[k] += d;
    if (gb) gb[k] -= d;
  }
}

// ---- binary_cross_entropy_with_logits ----
// Entry: in = {logits, target}; i[0] = reduction. dx = sigmoid(x) - y, dy = -x.
void bce_logits_backward(TapeEntry& e) {
  const auto r = static_cast<Reduction>(e.i[0]);
  const std::int64_t n = e.in[0].numel();
  const float *x = e.in[0].data(), *y = e.in[1].data(), *gy = output_grad(e);
  float* gx = grad_for_accumulation(e.in[0]);
  float* gt = grad_for_accumulation(e.in[1]);
  for (std::int64_t k = 0; k < n; ++k) {
    const float g = sample_grad(gy, r, k, 1.0f / static_cast<float>(n));
    if (gx) gx[k] += g * (vm::sigmoid(x[k]) - y[k]);
    if (gt) gt[k] -= g * x[k];
  }
}

// ---- gaussian_nll_loss ----
// Entry: in = {input, target, var}; i[0] = reduction, i[1] = elements per variance (1, or input's last
// dimension when var is one per row); f[0] = eps. With d = input - target, v = max(var, eps):
//   d/dinput = d/v, d/dtarget = -d/v, d/dvar = 0.5·(1/v - d²/v²) (summed over the elements sharing v).
void gaussian_nll_backward(TapeEntry& e) {
  const auto r = static_cast<Reduction>(e.i[0]);
  const std::int64_t n = e.in[0].numel(), group = e.i[1];
  const float eps = e.f[0];
  const float *x = e.in[0].data(), *t = e.in[1].data(), *var = e.in[2].data(), *gy = output_grad(e);
  float* gx = grad_for_accumulation(e.in[0]);
  float* gt = grad_for_accumulation(e.in[1]);
  float* gv = grad_for_accumulation(e.in[2]);
  for (std::int64_t k = 0; k < n; ++k) {
    const double g = sample_grad(gy, r, k, 1.0f / static_cast<float>(n));
    const double v = std::max(var[k / group], eps), d = static_cast<double>(x[k]) - t[k];
    if (gx) gx[k] += static_cast<float>(g * d / v);
    if (gt) gt[k] -= static_cast<float>(g * d / v);
    if (gv) gv[k / group] += static_cast<float>(g * 0.5 * (1.0 / v - d * d / (v * v)));
  }
}

Tensor targets_as_floats(std::span<const std::int32_t> targets) {
  Tensor t = Tensor::empty(Shape{static_cast<std::int64_t>(targets.size())});
  for (std::size_t i = 0; i < targets.size(); ++i) t.data()[i] = static_cast<float>(targets[i]);
  return t;
}

// Per-sample losses need a scratch buffer; a float tensor from the recycling cache holds them as
// doubles' worth of space without touching the heap in steady state.
struct SampleLosses {
  Tensor storage;
  double* values;
  explicit SampleLosses(std::int64_t n) : storage(Tensor::empty(Shape{2 * n})) {
    values = reinterpret_cast<double*>(storage.data());  // 64-byte aligned buffer
  }
};

}  // namespace

Tensor cross_entropy(const Tensor& logits, std::span<const std::int32_t> targets, Reduction reduction,
                     float label_smoothing) {
  check_class_targets("cross_entropy", logits, targets);
  if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
    throw ValueError(
        fmt::format("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing));
  const std::int64_t n = logits.size(0), classes = logits.size(1);
  Tensor probs = Tensor::empty(logits.shape());
  SampleLosses losses(n);
  const float* x = logits.data();
  float* p = probs.data();
  const double eps = label_smoothing;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = x + i * classes;
    float* prow = p + i * classes;
    float max = *std::max_element(row, row + classes);
    if (!std::isfinite(max)) max = 0.0f;
    double total = 0.0, row_sum = 0.0;
    for (std::int64_t c = 0; c < classes; ++c) {
      prow[c] = vm::exp(row[c] - max);
      total += prow[c];
      row_sum += row[c];
    }
    const float inv = static_cast<float>(1.0 / total);
    for (std::int64_t c = 0; c < classes; ++c) prow[c] *= inv;
    const double lse = max + std::log(total);
    // (1-ε)·(lse - x_t) + ε·mean_c(lse - x_c)
    losses.values[i] = (1.0 - eps) * (lse - row[targets[static_cast<std::size_t>(i)]]) +
                       eps * (lse - row_sum / static_cast<double>(classes));
  }
  Tensor out = make_loss_output(reduction, Shape{n});
  reduce_into(out, reduction, losses.values, n);
  if (TapeEntry* e = tape().record(out, &cross_entropy_backward, "cross_entropy", {logits})) {
    e->saved = {probs, targets_as_floats(targets)};
    e->i[0] = static_cast<std::int64_t>(reduction);
    e->f[0] = label_smoothing;
  }
  return out;
}

Tensor nll_loss(const Tensor& log_probs, std::span<const std::int32_t> targets, Reduction reduction) {
  check_class_targets("nll_loss", log_probs, targets);
  const std::int64_t n = log_probs.size(0), classes = log_probs.size(1);
  SampleLosses losses(n);
  for (std::int64_t i = 0; i < n; ++i)
    losses.values[i] =
        -static_cast<double>(log_probs.data()[i * classes + targets[static_cast<std::size_t>(i)]]);
  Tensor out = make_loss_output(reduction, Shape{n});
  reduce_into(out, reduction, losses.values, n);
  if (TapeEntry* e = tape().record(out, &nll_backward, "nll_loss", {log_probs})) {
    e->saved[0] = targets_as_floats(targets);
    e->i[0] = static_cast<std::int64_t>(reduction);
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (!(input.shape() == target.shape()))
    throw ShapeError(fmt::format("mse_loss: input {} and target {} differ in shape", input.shape().str(),
                                 target.shape().str()));
  const std::int64_t n = input.numel();
  SampleLosses losses(n);
  for (std::int64_t k = 0; k < n; ++k) {
    const double d = static_cast<double>(input.data()[k]) - target.data()[k];
    losses.values[k] = d * d;
  }
  Tensor out = make_loss_output(reduction, input.shape());
  reduce_into(out, reduction, losses.values, n);
  if (TapeEntry* e = tape().record(out, &mse_backward, "mse_loss", {input, target}))
    e->i[0] = static_cast<std::int64_t>(reduction);
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  if (!(logits.shape() == target.shape()))
    throw ShapeError(fmt::format("binary_cross_entropy_with_logits: logits {} and target {} differ in shape",
                                 logits.shape().str(), target.shape().str()));
  const std::int64_t n = logits.numel();
  SampleLosses losses(n);
  for (std::int64_t k = 0; k < n; ++k) {
    const double x = logits.data()[k], y = target.data()[k];
    losses.values[k] = std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
  }
  Tensor out = make_loss_output(reduction, logits.shape());
  reduce_into(out, reduction, losses.values, n);
  if (TapeEntry* e =
          tape().record(out, &bce_logits_backward, "binary_cross_entropy_with_logits", {logits, target}))
    e->i[0] = static_cast<std::int64_t>(reduction);
  return out;
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full, float eps,
                         Reduction reduction) {
  if (!(input.shape() == target.shape()))
    throw ShapeError(fmt::format("gaussian_nll_loss: input {} and target {} differ in shape",
                                 input.shape().str(), target.shape().str()));
  // var: input's shape, or one variance per row (input's shape without the last dimension, or with it 1).
  std::int64_t group = 1;
  if (!(var.shape() == input.shape())) {
    const auto& dims = input.shape().dims();
    const bool per_row =
        input.ndim() >= 1 &&
        ((var.ndim() == input.ndim() - 1 && std::equal(dims.begin(), dims.end() - 1, var.shape().dims().begin())) ||
         (var.ndim() == input.ndim() && var.shape().dims().back() == 1 &&
          std::equal(dims.begin(), dims.end() - 1, var.shape().dims().begin())));
    if (!per_row)
      throw ShapeError(fmt::format("gaussian_nll_loss: var {} must have input's shape {} or one value per row",
                                   var.shape().str(), input.shape().str()));
    group = input.shape().dims().back();
  }
  if (!(eps >= 0.0f)) throw ValueError(fmt::format("gaussian_nll_loss: eps must be >= 0, got {}", eps));
  for (float v : var.span())
    if (v < 0.0f) throw ValueError("gaussian_nll_loss: var has negative entry/entries");
  const std::int64_t n = input.numel();
  const double constant = full ? 0.5 * std::log(2.0 * std::numbers::pi) : 0.0;
  SampleLosses losses(n);
  for (std::int64_t k = 0; k < n; ++k) {
    const double v = std::max(var.data()[k / std::max<std::int64_t>(group, 1)], eps);
    const double d = static_cast<double>(input.data()[k]) - target.data()[k];
    losses.values[k] = 0.5 * (std::log(v) + d * d / v) + constant;
  }
  Tensor out = make_loss_output(reduction, input.shape());
  reduce_into(out, reduction, losses.values, n);
  if (TapeEntry* e = tape().record(out, &gaussian_nll_backward, "gaussian_nll_loss", {input, target, var})) {
    e->i[0] = static_cast<std::int64_t>(reduction);
    e->i[1] = std::max<std::int64_t>(group, 1);
    e->f[0] = eps;
  }
  return out;
}

}  // namespace bend
