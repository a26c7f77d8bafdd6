#pragma once
// bend's differentiable ops. Each is defined in one file under src/ops/ with its backward beside its
// forward. All take and return float32 contiguous tensors; shape errors throw ShapeError naming the op
// and the shapes. Every op bend records on the tape is declared here; the activation table
// (bend/activations.hpp) adds activate(), which runs a table entry's kernel through apply_pointwise.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/pointwise.hpp"
#include "bend/tensor.hpp"

namespace bend {

class Rng;

// --- matrix products (src/ops/matmul.cpp, src/ops/linear.cpp) ---
// torch.matmul: op(a) · op(b), where op transposes the last two dimensions when asked (a flag to BLAS,
// never a copy). 2-d x 2-d is one cblas_sgemm. 1-d x 1-d is a dot product (0-d result); a 1-d a is a
// row [1, k] and a 1-d b a column [k, 1], that dimension dropped from the result. Otherwise the
// dimensions before the last two are batch dimensions and broadcast as in add():
//   [j, 1, m, k] x [p, k, n] -> [j, p, m, n].
// One sgemm per batch (threads over batches when they are small), or one sgemm in all when b is a
// single matrix (a's batches then stack into the rows). The transpose flags need a >= 2-d operand.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// x·wᵀ + bias for x [*, in] (any leading dimensions, read as rows without a copy), weight [out, in], bias
// [out] (optional) -> [*, out]: PyTorch's F.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// --- elementwise arithmetic with broadcasting (src/ops/arithmetic.cpp) ---
// Shapes broadcast as in NumPy/PyTorch: aligned from the right, a dimension of 1 stretches.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float b);
Tensor mul(const Tensor& a, float b);
Tensor div(const Tensor& a, float b);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// --- elementwise math (src/ops/math.cpp) ---
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor reciprocal(const Tensor& a);
Tensor pow(const Tensor& a, float exponent);
Tensor clamp(const Tensor& a, float lo, float hi);  // gradient 1 inside [lo, hi], 0 outside

// --- pointwise kernels (src/ops/pointwise.cpp; kernels in bend/pointwise.hpp) ---
// y = f(x), recorded for backward when x requires grad. `kernel` must outlive the tape entry (kernels
// are static tables).
Tensor apply_pointwise(const Tensor& x, const PointwiseKernel& kernel, PointwiseParams params = {});

// --- activations (src/activations.cpp, one entry each in the activation table) ---
// Functional forms with PyTorch's names and defaults.
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor elu(const Tensor& x, float alpha = 1.0f);
Tensor celu(const Tensor& x, float alpha = 1.0f);
Tensor selu(const Tensor& x);
Tensor gelu(const Tensor& x, std::string_view approximate = "none");  // "none" (erf) or "tanh"
Tensor silu(const Tensor& x);
Tensor mish(const Tensor& x);
Tensor softplus(const Tensor& x, float beta = 1.0f, float threshold = 20.0f);
Tensor softsign(const Tensor& x);
Tensor relu6(const Tensor& x);
Tensor hardtanh(const Tensor& x, float min_val = -1.0f, float max_val = 1.0f);
Tensor hardswish(const Tensor& x);
Tensor hardsigmoid(const Tensor& x);
Tensor hardshrink(const Tensor& x, float lambd = 0.5f);
Tensor softshrink(const Tensor& x, float lambd = 0.5f);
Tensor tanhshrink(const Tensor& x);
Tensor logsigmoid(const Tensor& x);
Tensor threshold(const Tensor& x, float threshold, float value);
// PReLU with a learnable slope: weight has 1 element or one per feature (dimension 1 of x).
Tensor prelu(const Tensor& x, const Tensor& weight);
// GLU: splits dimension `dim` in halves a, b and returns a ⊙ sigmoid(b).
Tensor glu(const Tensor& x, int dim = -1);

// --- comparisons and argmax (src/ops/compare.cpp); no gradient ---
// 1 where the comparison holds and 0 elsewhere, as float32 (bend's tensors are float32: a mask sums to
// a count with sum()). Tensor-tensor forms broadcast as add() does. Never recorded on the tape.
//   const auto correct = (argmax(logits, 1) == Tensor::from_indices(labels)).sum().item<std::int64_t>();
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, float b);
Tensor ne(const Tensor& a, float b);
Tensor lt(const Tensor& a, float b);
Tensor le(const Tensor& a, float b);
Tensor gt(const Tensor& a, float b);
Tensor ge(const Tensor& a, float b);
// torch.argmax: the index of the first maximum (a NaN counts as the maximum), as a float32 value
// (exact: dimensions are limited to 2^24). Without dim, over the flattened tensor (a 0-d result);
// with dim, along that dimension (removed, or kept as size 1 with keepdim).
Tensor argmax(const Tensor& a);
Tensor argmax(const Tensor& a, int dim, bool keepdim = false);

// --- reductions (src/ops/reduce.cpp) ---
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, int dim, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, int dim, bool keepdim = false);

// --- shapes (src/ops/shape_ops.cpp, src/ops/permute.cpp) ---
Tensor reshape(const Tensor& a, const Shape& shape);  // a view sharing a's data
// torch.reshape / Tensor.view: one size may be -1, inferred from the others and a's element count;
// a ShapeError names both shapes when it cannot be.   reshape(x, {-1, 320})
Tensor reshape(const Tensor& a, std::span<const std::int64_t> dims);
Tensor reshape(const Tensor& a, std::initializer_list<std::int64_t> dims);
inline Tensor view(const Tensor& a, std::initializer_list<std::int64_t> dims) { return reshape(a, dims); }
Tensor transpose(const Tensor& a);  // 2-d, copies
// torch.transpose and torch.permute for any rank; negative dimensions count from the end. They copy
// (bend's tensors are contiguous); the gradient goes back through the inverse permutation.
Tensor transpose(const Tensor& a, int dim0, int dim1);
Tensor permute(const Tensor& a, std::span<const int> dims);
Tensor permute(const Tensor& a, std::initializer_list<int> dims);
Tensor clone(const Tensor& a);
Tensor concat(std::span<const Tensor> parts, int dim = -1);
Tensor concat(std::initializer_list<Tensor> parts, int dim = -1);
// Elements [start, start + length) of dimension dim, copied (torch.narrow, which returns a view); the
// gradient flows back into that slice. Allocation-free, unlike split's vector.
Tensor narrow(const Tensor& a, int dim, std::int64_t start, std::int64_t length);
std::vector<Tensor> split(const Tensor& a, std::span<const std::int64_t> sizes, int dim = -1);
std::vector<Tensor> split(const Tensor& a, std::initializer_list<std::int64_t> sizes, int dim = -1);
std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, int dim = -1);

// --- indexing (src/ops/gather.cpp); indices must be below 2^24 (the tape saves them as floats) ---
// Rows of `a` (any rank >= 1, rows along dimension 0) picked by `rows`, repeats allowed:
// torch.index_select(a, 0, rows). Backward adds each output row's gradient into its source row.
Tensor index_select_rows(const Tensor& a, std::span<const std::int64_t> rows);
// out[r] = a[r, columns[r]] for a [N, C]: torch.gather(a, 1, columns.unsqueeze(1)).squeeze(1).
Tensor gather_columns(const Tensor& a, std::span<const std::int32_t> columns);
// A copy of `base` with source[k] added to row rows[k] (repeats accumulate): the out-of-place
// torch.index_add(base, 0, rows, source). source has rows.size() rows shaped like base's rows.
Tensor index_add_rows(const Tensor& base, std::span<const std::int64_t> rows, const Tensor& source);

// --- softmax (src/ops/softmax.cpp) ---
Tensor softmax(const Tensor& a, int dim = -1);
Tensor log_softmax(const Tensor& a, int dim = -1);

// --- dropout (src/ops/dropout.cpp) ---
// Inverted dropout (F.dropout): keeps each element with probability 1 - p and scales it by 1/(1 - p),
// the mask drawn from `rng`. Returns x itself when not training or p = 0.
Tensor dropout(const Tensor& x, float p, bool training, Rng& rng);

// --- alpha dropout (src/ops/alpha_dropout.cpp) ---
// F.alpha_dropout (nn.AlphaDropout), for SELU nets: each element is kept with probability 1 - p, a
// dropped one becomes SELU's negative saturation value α' = -λα ≈ -1.7581, and the affine map
// y = a·x' + b (a = 1/√((1-p)(1 + pα'²)), b = -a·α'·p) keeps a zero-mean, unit-variance input's mean and
// variance. Returns x itself when not training or p = 0; zeros when p = 1.
struct AlphaDropoutCoefficients {
  double a = 1, b = 0;
  double dropped = 0;  // a·α' + b: the value of a dropped element
};
AlphaDropoutCoefficients alpha_dropout_coefficients(double p);  // p in [0, 1)
Tensor alpha_dropout(const Tensor& x, float p, bool training, Rng& rng);

// --- embedding and attention (src/ops/embedding.cpp, masked_softmax.cpp, attention_heads.cpp,
// attention.cpp) ---

// F.embedding: rows of weight [num_embeddings, D] picked by `indices`, a float32 tensor of any shape
// whose values are whole numbers in [0, num_embeddings) (bend has no integer tensors); the result is
// indices.shape + [D]. Backward scatter-adds each output row into its weight row, except rows equal to
// padding_idx (negative: counted from num_embeddings, as in PyTorch), which get no gradient. A
// non-integral or out-of-range index throws ValueError naming it and its position.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = {});

// How a mask tensor (float32, like every bend tensor) is read:
//   Additive: added to the scores (0 keeps, -inf removes, anything between biases);
//   Boolean:  values 0 or 1, where 1 (true) means "masked out" (the score becomes -inf). This is
//             PyTorch 1.13's convention for nn.MultiheadAttention's attn_mask and key_padding_mask;
//             PyTorch 2's F.scaled_dot_product_attention uses the opposite sense (true = attend).
enum class MaskType { Additive, Boolean };
struct AttentionMask {
  Tensor mask;  // undefined: no mask
  MaskType type = MaskType::Additive;
  bool defined() const { return mask.defined(); }
};

// softmax over the last dimension of x [*, Lq, Lk] after masking: `mask` broadcasts to x's shape (aligned
// from the right); causal removes the elements above the diagonal (j > i, counted from the top-left as
// torch.ones(Lq, Lk).tril()). A row with everything masked is NaN, as in PyTorch. The mask is a
// constant (no gradient).
Tensor masked_softmax(const Tensor& x, const AttentionMask& mask, bool causal = false);

// Attention heads. split_heads: x [B, L, P·H·d] (or [L, B, P·H·d] when seq_first) -> [P, B, H, L, d]: the
// P projections (q, k, v packed by an in-projection) cut into H heads each. merge_heads: o [B, H, L, d]
// -> [B, L, H·d] (or [L, B, H·d]), the inverse for P = 1. select_first: the view a[index] of a's first
// dimension (no copy; the gradient goes back into that slice).
Tensor split_heads(const Tensor& x, std::int64_t parts, std::int64_t heads, bool seq_first = false);
Tensor merge_heads(const Tensor& o, bool seq_first = false);
Tensor select_first(const Tensor& a, std::int64_t index);

// F.scaled_dot_product_attention's math path, one fused op:
//   q [B, H, Lq, E], k [B, H, Lk, E], v [B, H, Lk, Ev] -> [B, H, Lq, Ev]
//   P = softmax(q·kᵀ·scale + mask, causal), scale = 1/√E unless given;  out = dropout(P)·v
// attn_mask broadcasts to [B, H, Lq, Lk]. Dropout (probability dropout_p, only when training) acts on
// the attention weights, its mask drawn from `rng` (one draw per call seeds every (batch, head), so the
// result does not depend on the thread count). Threads over batch × heads; each head is a few
// cblas_sgemm calls. When weights is given it receives the (post-dropout) weights P [B, H, Lq, Lk],
// without gradient.
struct AttentionOptions {
  AttentionMask attn_mask{};
  float dropout_p = 0.0f;
  bool is_causal = false;
  bool training = true;
  std::optional<float> scale{};
  Rng* rng = nullptr;  // required when dropout acts (training and dropout_p > 0)
  Tensor* weights = nullptr;
};
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

// --- losses (src/ops/losses.cpp); targets are class indices ---
enum class Reduction { Mean, Sum, None };
// Fused log-softmax + NLL from logits [N, C]; label_smoothing as in torch.nn.functional.cross_entropy.
Tensor cross_entropy(const Tensor& logits, std::span<const std::int32_t> targets,
                     Reduction reduction = Reduction::Mean, float label_smoothing = 0.0f);
Tensor nll_loss(const Tensor& log_probs, std::span<const std::int32_t> targets,
                Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// Stable: max(x,0) - x*y + log1p(exp(-|x|)).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
// F.gaussian_nll_loss (nn.GaussianNLLLoss): 0.5·(log v + (input - target)²/v) per element, plus
// 0.5·log(2π) when full, with v = max(var, eps). As PyTorch, the clamp is outside autograd: the gradient
// into var is 0.5·(1/v - (input - target)²/v²) even where var < eps. var has input's shape, or input's
// shape without its last dimension or with it as 1 (one variance per row, shared by its elements). A
// negative var throws ValueError. Mean: over every element of input.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full = false,
                         float eps = 1e-6f, Reduction reduction = Reduction::Mean);

// --- convolution, pooling, normalisation (src/ops/conv2d.cpp, max_pool2d.cpp, avg_pool2d.cpp,
// batch_norm.cpp, layer_norm.cpp, dropout2d.cpp); images are NCHW ---

// A (height, width) pair: kernel sizes, strides, paddings, dilations. One number means both, as in PyTorch.
struct Size2d {
  std::int64_t h = 0, w = 0;
  Size2d(std::int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor): PyTorch's int
  Size2d(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  std::string str() const;  // "(5, 5)"
  friend bool operator==(const Size2d&, const Size2d&) = default;
};

// F.conv2d (groups = 1, zero padding): x [N, C, H, W], weight [O, C, kh, kw], bias [O] (optional)
// -> [N, O, OH, OW] with OH = (H + 2·ph - dh·(kh - 1) - 1) / sh + 1 (likewise OW).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2d stride = 1,
              Size2d padding = 0, Size2d dilation = 1);
// F.max_pool2d: padding is -inf and at most half the kernel; ceil_mode rounds the output size up (the
// last window must start inside the input or its left padding); the gradient goes to the first maximum
// of each window (a NaN counts as the maximum).
Tensor max_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding = 0, Size2d dilation = 1,
                  bool ceil_mode = false);
// F.avg_pool2d: ceil_mode as max_pool2d's; count_include_pad divides by the window's size inside the
// padded input, else by its in-image elements.
Tensor avg_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
// F.batch_norm over dimension 1 of x [N, C, *]. training: normalises with the batch's mean and biased
// variance and, where running_mean/running_var are given, updates them in place with
// running = (1 - momentum)·running + momentum·batch (the variance unbiased). Otherwise normalises with
// the running statistics. weight, bias [C] are optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum = 0.1f,
                  float eps = 1e-5f);
// F.layer_norm: normalises over the trailing dimensions normalized_shape (biased variance); weight and
// bias (optional) have shape normalized_shape.
Tensor layer_norm(const Tensor& x, std::span<const std::int64_t> normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, float eps = 1e-5f);
// F.dropout2d: zeroes whole channels of x [N, C, *] with probability p (one draw from `rng` per
// channel), scaling the kept ones by 1/(1 - p). Returns x itself when not training or p = 0.
Tensor dropout2d(const Tensor& x, float p, bool training, Rng& rng);

}  // namespace bend
