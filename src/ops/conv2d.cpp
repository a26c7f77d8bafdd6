// conv2d: PyTorch's F.conv2d (groups = 1, zero padding) as im2col + cblas_sgemm, one sample at a time.
//   x: [N, C, H, W]   weight: [O, C, kh, kw]   bias: [O]   y: [N, O, OH, OW]
// For each sample n, im2col lays the input patches out as cols [C·kh·kw, OH·OW] and
//   y_n [O, OH·OW] = W [O, C·kh·kw] · cols            (rows of y_n start as the bias, sgemm beta = 1)
// Backward, per sample:
//   dW   += dy_n · colsᵀ                              (cols recomputed: cheaper than keeping N of them)
//   dcols = Wᵀ · dy_n, then col2im adds dcols into dx_n
//   db   += row sums of dy_n
// The batch is split into one block of samples per thread of bend's pool, each running single-threaded
// sgemm on its own scratch columns; the weight gradient is summed from one partial per thread. Scratch
// comes from the tensor cache, so a steady step allocates nothing. A 1×1 kernel with stride 1 and no
// padding skips im2col: the image is its own column matrix. Forward with at most 6 output channels
// multiplies with its own register-blocked loop instead of sgemm (conv2d_few_channels).
#include <cblas.h>

#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/multiversion.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "gemm.hpp"
#include "lane_sums.hpp"
#include "window2d.hpp"

namespace bend {

std::string Size2d::str() const { return fmt::format("({}, {})", h, w); }

namespace {

// Below this many multiply-adds a step is a few microseconds: not worth a hand-off to other threads.
constexpr std::int64_t kMinConvWorkToSplit = std::int64_t{1} << 18;

struct ConvGeometry {
  std::int64_t batch, channels, height, width;  // x
  std::int64_t out_channels, kh, kw;            // weight
  Size2d stride, padding, dilation;
  std::int64_t out_h, out_w;

  std::int64_t patch() const { return channels * kh * kw; }  // rows of the column matrix
  std::int64_t pixels() const { return out_h * out_w; }      // its columns
  std::int64_t image() const { return channels * height * width; }
  bool pointwise() const {
    return kh == 1 && kw == 1 && stride == Size2d(1) && padding == Size2d(0) && dilation == Size2d(1);
  }
  int parts() const {
    const std::int64_t work = batch * out_channels * patch() * pixels();
    if (work < kMinConvWorkToSplit) return 1;
    return static_cast<int>(std::min<std::int64_t>(num_threads(), batch));
  }
};

ConvGeometry geometry(const Tensor& x, const Tensor& w, Size2d stride, Size2d padding, Size2d dilation) {
  ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2),
                 w.size(3), stride,    padding,   dilation,  0,         0};
  g.out_h = detail::window_output_size(g.height, g.kh, stride.h, padding.h, dilation.h);
  g.out_w = detail::window_output_size(g.width, g.kw, stride.w, padding.w, dilation.w);
  return g;
}

// Copies a short run (an output row: 10 to 28 floats in LeNet) without a library call, 8 floats at a
// time: std::copy's memmove cost more than the copying (im2col of LeNet's second layer: 20 -> 10 us).
inline void copy_short(const float* src, float* dst, std::int64_t count) {
  std::int64_t k = 0;
  for (; k + 8 <= count; k += 8) __builtin_memcpy(dst + k, src + k, 8 * sizeof(float));
  for (; k < count; ++k) dst[k] = src[k];
}

// One sample: x_n [C, H, W] -> cols [C·kh·kw, OH·OW]. Row (c, i, j) holds, for every output pixel, the
// input under kernel tap (i, j) of channel c (0 in the padding).
void im2col(const ConvGeometry& g, const float* x, float* cols) {
  const std::int64_t out_w = g.out_w, sw = g.stride.w;
  for (std::int64_t c = 0; c < g.channels; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j) {
        float* row = cols + ((c * g.kh + i) * g.kw + j) * g.pixels();
        const std::int64_t offset = j * g.dilation.w - g.padding.w;  // input column = ow·sw + offset
        const auto [first, last] = detail::columns_inside(g.width, g.out_w, g.stride.w, offset);
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          float* dst = row + oh * out_w;
          const std::int64_t ih = oh * g.stride.h - g.padding.h + i * g.dilation.h;
          if (ih < 0 || ih >= g.height) {
            std::fill_n(dst, out_w, 0.0f);
            continue;
          }
          const float* src = x + (c * g.height + ih) * g.width + offset;
          for (std::int64_t ow = 0; ow < first; ++ow) dst[ow] = 0.0f;
          if (sw == 1)
            copy_short(src + first, dst + first, last - first);
          else
            for (std::int64_t ow = first; ow < last; ++ow) dst[ow] = src[ow * sw];
          for (std::int64_t ow = last; ow < out_w; ++ow) dst[ow] = 0.0f;
        }
      }
}

// The adjoint of im2col: adds each entry of cols [C·kh·kw, OH·OW] into the input pixel it was copied from.
void col2im_add(const ConvGeometry& g, const float* cols, float* x) {
  const std::int64_t out_w = g.out_w, sw = g.stride.w;
  for (std::int64_t c = 0; c < g.channels; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const float* row = cols + ((c * g.kh + i) * g.kw + j) * g.pixels();
        const std::int64_t offset = j * g.dilation.w - g.padding.w;
        const auto [first, last] = detail::columns_inside(g.width, g.out_w, g.stride.w, offset);
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          const std::int64_t ih = oh * g.stride.h - g.padding.h + i * g.dilation.h;
          if (ih < 0 || ih >= g.height) continue;
          const float* src = row + oh * out_w;
          float* dst = x + (c * g.height + ih) * g.width + offset;
          if (sw == 1)
            for (std::int64_t ow = first; ow < last; ++ow) dst[ow] += src[ow];
          else
            for (std::int64_t ow = first; ow < last; ++ow) dst[ow * sw] += src[ow];
        }
      }
}

// Up to this many output channels, conv2d_few_channels replaces sgemm: with so few rows (LeNet's first
// layer: 6 channels, 25 taps) OpenBLAS's packing and edge tiles leave sgemm at ~15 GFLOP/s.
constexpr std::int64_t kFewChannels = 6;
constexpr std::int64_t kPixelBlock = 16;  // two AVX2 vectors per output row

// Eight floats, one AVX2 register (two SSE registers in the baseline build).
typedef float Lanes8 __attribute__((vector_size(32)));

// kRows output channels over one block of kPixelBlock pixels, accumulated in registers over the taps:
//   y [kRows, pixels] (rows `pixels` apart) = bias + w [kRows, taps] · cols [taps, pixels], columns
//   [first, first + kPixelBlock)
template <int kRows>
inline void few_channels_block(const float* w, const float* cols, const float* bias, float* y,
                               std::int64_t taps, std::int64_t pixels, std::int64_t first) {
  Lanes8 acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = Lanes8{} + (bias ? bias[r] : 0.0f);
  for (std::int64_t t = 0; t < taps; ++t) {
    Lanes8 c0, c1;  // unaligned loads
    __builtin_memcpy(&c0, cols + t * pixels + first, sizeof c0);
    __builtin_memcpy(&c1, cols + t * pixels + first + 8, sizeof c1);
    for (int r = 0; r < kRows; ++r) {
      const float weight = w[r * taps + t];
      acc[r][0] += weight * c0;
      acc[r][1] += weight * c1;
    }
  }
  for (int r = 0; r < kRows; ++r) {
    __builtin_memcpy(y + r * pixels + first, &acc[r][0], sizeof(Lanes8));
    __builtin_memcpy(y + r * pixels + first + 8, &acc[r][1], sizeof(Lanes8));
  }
}

// One sample's y [out, pixels] = bias + w [out, taps] · cols [taps, pixels] for out <= kFewChannels,
// the pixels in blocks held in registers (the ragged last block one pixel at a time).
BEND_MULTIVERSION void conv2d_few_channels(const float* w, const float* cols, const float* bias, float* y,
                                           std::int64_t out, std::int64_t taps, std::int64_t pixels) {
  const std::int64_t blocked = pixels / kPixelBlock * kPixelBlock;
  for (std::int64_t first = 0; first < blocked; first += kPixelBlock) {
    switch (out) {
      case 1:
        few_channels_block<1>(w, cols, bias, y, taps, pixels, first);
        break;
      case 2:
        few_channels_block<2>(w, cols, bias, y, taps, pixels, first);
        break;
      case 3:
        few_channels_block<3>(w, cols, bias, y, taps, pixels, first);
        break;
      case 4:
        few_channels_block<4>(w, cols, bias, y, taps, pixels, first);
        break;
      case 5:
        few_channels_block<5>(w, cols, bias, y, taps, pixels, first);
        break;
      default:
        few_channels_block<6>(w, cols, bias, y, taps, pixels, first);
        break;
    }
  }
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t p = blocked; p < pixels; ++p) {
      float sum = bias ? bias[o] : 0.0f;
      for (std::int64_t t = 0; t < taps; ++t) sum += w[o * taps + t] * cols[t * pixels + p];
      y[o * pixels + p] = sum;
    }
}

// Row-major single-threaded sgemm (each thread of the split runs its own).
void conv_sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Entry: in = {x, weight, bias}; i = {stride, padding, dilation} packed.
void conv2d_backward(TapeEntry& e) {
  const Tensor &x = e.in[0], &w = e.in[1], &b = e.in[2];
  const ConvGeometry g =
      geometry(x, w, detail::unpack(e.i[0]), detail::unpack(e.i[1]), detail::unpack(e.i[2]));
  const float* gy = output_grad(e);
  const GradTarget gx = grad_target(x), gw = grad_target(w), gb = grad_target(b);
  const std::int64_t patch = g.patch(), pixels = g.pixels(), out_channels = g.out_channels;
  if (g.batch == 0) {  // nothing flows back, but a grad that holds zeros must still be written
    if (gw && gw.is_zero) std::fill_n(gw.data, out_channels * patch, 0.0f);
    if (gb && gb.is_zero) std::fill_n(gb.data, out_channels, 0.0f);
    return;
  }
  const bool pointwise = g.pointwise();
  const int parts = g.parts();

  // Per part: columns (for dW), column gradients (for dx), and for parts after the first a partial dW.
  const std::int64_t cols_size = (gw && !pointwise) ? patch * pixels : 0;
  const std::int64_t dcols_size = (gx && !pointwise) ? patch * pixels : 0;
  const std::int64_t partial_size = gw ? out_channels * patch : 0;
  const std::int64_t per_part = cols_size + dcols_size + partial_size;
  Tensor scratch;
  if (per_part > 0) scratch = Tensor::empty(Shape{parts, per_part});

  const float* weight = w.data();
  parallel_for(parts, [&](int part, int n_parts) {
    const auto [first, last] = split_range(g.batch, part, n_parts, 1);
    float* cols = scratch.defined() ? scratch.data() + part * per_part : nullptr;
    float* dcols = cols ? cols + cols_size : nullptr;
    float* dw = part == 0 ? gw.data : (cols ? dcols + dcols_size : nullptr);
    for (std::int64_t n = first; n < last; ++n) {
      const float* gy_n = gy + n * out_channels * pixels;
      const float* x_n = x.data() + n * g.image();
      if (gx) {
        float* gx_n = gx.data + n * g.image();
        if (pointwise) {
          conv_sgemm(true, false, g.channels, pixels, out_channels, weight, patch, gy_n, pixels,
                     gx.is_zero ? 0.0f : 1.0f, gx_n, pixels);
        } else {
          conv_sgemm(true, false, patch, pixels, out_channels, weight, patch, gy_n, pixels, 0.0f, dcols,
                     pixels);
          if (gx.is_zero) std::fill_n(gx_n, g.image(), 0.0f);
          col2im_add(g, dcols, gx_n);
        }
      }
      if (gw) {
        const float* cols_n = x_n;
        if (!pointwise) {
          im2col(g, x_n, cols);
          cols_n = cols;
        }
        // The first sample of a part writes its dW block (a partial, or a grad that holds zeros).
        const bool write = n == first && (part != 0 || gw.is_zero);
        conv_sgemm(false, true, out_channels, patch, pixels, gy_n, pixels, cols_n, pixels,
                   write ? 0.0f : 1.0f, dw, patch);
      }
    }
  });

  if (gw)
    for (int part = 1; part < parts; ++part) {
      const float* partial = scratch.data() + part * per_part + cols_size + dcols_size;
      for (std::int64_t k = 0; k < out_channels * patch; ++k) gw.data[k] += partial[k];
    }
  if (gb) {
    if (gb.is_zero) std::fill_n(gb.data, out_channels, 0.0f);
    for (std::int64_t o = 0; o < out_channels; ++o) {
      double total = 0.0;
      for (std::int64_t n = 0; n < g.batch; ++n)
        total += detail::lane_sum(gy + (n * out_channels + o) * pixels, pixels);
      gb.data[o] += static_cast<float>(total);
    }
  }
}

void check_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Size2d stride, Size2d padding,
                  Size2d dilation) {
  detail::require_positive("conv2d", "stride", stride);
  detail::require_non_negative("conv2d", "padding", padding);
  detail::require_positive("conv2d", "dilation", dilation);
  if (w.ndim() != 4)
    throw ShapeError(
        fmt::format("conv2d: weight {} must be 4-d [out_channels, in_channels, kh, kw]", w.shape().str()));
  if (w.size(0) < 1 || w.size(1) < 1 || w.size(2) < 1 || w.size(3) < 1)
    throw ShapeError(fmt::format("conv2d: weight {} has an empty dimension", w.shape().str()));
  if (x.ndim() != 4 || x.size(1) != w.size(1))
    throw ShapeError(fmt::format("conv2d: input {} does not fit weight {} (expected input [N, {}, H, W])",
                                 x.shape().str(), w.shape().str(), w.size(1)));
  if (b.defined() && !(b.shape() == Shape{w.size(0)}))
    throw ShapeError(fmt::format("conv2d: bias {} does not fit weight {} (expected [{}])", b.shape().str(),
                                 w.shape().str(), w.size(0)));
  const Size2d kernel{dilation.h * (w.size(2) - 1) + 1, dilation.w * (w.size(3) - 1) + 1};
  if (kernel.h > x.size(2) + 2 * padding.h || kernel.w > x.size(3) + 2 * padding.w)
    throw ShapeError(fmt::format(
        "conv2d: kernel {} (dilated to {}) is larger than the input {} with padding {} (padded image {})",
        Size2d(w.size(2), w.size(3)).str(), kernel.str(), x.shape().str(), padding.str(),
        Size2d(x.size(2) + 2 * padding.h, x.size(3) + 2 * padding.w).str()));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding,
              Size2d dilation) {
  check_conv2d(x, weight, bias, stride, padding, dilation);
  const ConvGeometry g = geometry(x, weight, stride, padding, dilation);
  const std::int64_t patch = g.patch(), pixels = g.pixels(), out_channels = g.out_channels;
  Tensor y = Tensor::empty(Shape{g.batch, out_channels, g.out_h, g.out_w});
  const bool pointwise = g.pointwise();
  const int parts = g.parts();
  // Inference (no tape entry to come) may multiply with bend's AVX-512 kernel, which packs panels of
  // the columns into its own scratch (patch x 32 floats per part).
  const bool recorded = grad_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                           (bias.defined() && bias.requires_grad()));
  const bool own_kernel = !recorded && out_channels > kFewChannels;
  const std::int64_t cols_size = pointwise ? 0 : patch * pixels, panel_size = own_kernel ? patch * 32 : 0;
  Tensor scratch;
  if (cols_size + panel_size > 0) scratch = Tensor::empty(Shape{parts, cols_size + panel_size});
  const float* w = weight.data();
  const float* b = bias.defined() ? bias.data() : nullptr;
  parallel_for(parts, [&](int part, int n_parts) {
    const auto [first, last] = split_range(g.batch, part, n_parts, 1);
    float* cols = pointwise ? nullptr : scratch.data() + part * (cols_size + panel_size);
    float* panel = own_kernel ? scratch.data() + part * (cols_size + panel_size) + cols_size : nullptr;
    for (std::int64_t n = first; n < last; ++n) {
      const float* x_n = x.data() + n * g.image();
      float* y_n = y.data() + n * out_channels * pixels;
      if (!pointwise) im2col(g, x_n, cols);
      if (out_channels <= kFewChannels) {
        conv2d_few_channels(w, pointwise ? x_n : cols, b, y_n, out_channels, patch, pixels);
        continue;
      }
      if (own_kernel &&
          detail::conv_gemm_inference(out_channels, pixels, patch, w, pointwise ? x_n : cols, b, y_n, panel))
        continue;
      if (b)
        for (std::int64_t o = 0; o < out_channels; ++o) std::fill_n(y_n + o * pixels, pixels, b[o]);
      conv_sgemm(false, false, out_channels, pixels, patch, w, patch, pointwise ? x_n : cols, pixels,
                 b ? 1.0f : 0.0f, y_n, pixels);
    }
  });
  if (TapeEntry* e = tape().record(y, &conv2d_backward, "conv2d", {x, weight, bias})) {
    e->i[0] = detail::pack(stride);
    e->i[1] = detail::pack(padding);
    e->i[2] = detail::pack(dilation);
  }
  return y;
}

}  // namespace bend
