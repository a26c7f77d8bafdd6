#pragma once
// bend's differentiable ops. Each is defined in one file under src/ops/ with its backward beside its
// forward. All take and return float32 contiguous tensors; shape errors throw ShapeError naming the op
// and the shapes.
#include <cstdint>
#include <span>
#include <vector>

#include "bend/tensor.hpp"

namespace bend {

// --- matrix products (src/ops/matmul.cpp, src/ops/linear.cpp) ---
// op(a) · op(b) for 2-d a, b, where op transposes when asked; one cblas_sgemm, no copies.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// x·wᵀ + bias for x [N, in], weight [out, in], bias [out] (optional): PyTorch's F.linear.
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

// --- reductions (src/ops/reduce.cpp) ---
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, int dim, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, int dim, bool keepdim = false);

// --- shapes (src/ops/shape_ops.cpp) ---
Tensor reshape(const Tensor& a, const Shape& shape);  // a view sharing a's data
Tensor transpose(const Tensor& a);                    // 2-d, copies
Tensor clone(const Tensor& a);
Tensor concat(std::span<const Tensor> parts, int dim = -1);
Tensor concat(std::initializer_list<Tensor> parts, int dim = -1);
// Elements [start, start + length) of dimension dim, copied (torch.narrow, which returns a view); the
// gradient flows back into that slice. Allocation-free, unlike split's vector.
Tensor narrow(const Tensor& a, int dim, std::int64_t start, std::int64_t length);
std::vector<Tensor> split(const Tensor& a, std::span<const std::int64_t> sizes, int dim = -1);
std::vector<Tensor> split(const Tensor& a, std::initializer_list<std::int64_t> sizes, int dim = -1);
std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, int dim = -1);

// --- softmax (src/ops/softmax.cpp) ---
Tensor softmax(const Tensor& a, int dim = -1);
Tensor log_softmax(const Tensor& a, int dim = -1);

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

}  // namespace bend
