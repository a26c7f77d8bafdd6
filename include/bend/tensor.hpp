#pragma once
// Tensor: a float32, contiguous, row-major N-d array. Copying a Tensor copies a handle (the data are
// shared, as with torch.Tensor); clone() copies the data. A tensor that requires grad takes part in
// reverse-mode autograd (bend/autograd.hpp): ops on it are recorded on the thread's tape, and
// backward() adds d(loss)/d(tensor) into its grad().
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "bend/shape.hpp"

namespace bend {

class Rng;

namespace detail {

// A float buffer from the recycling cache; shared by a tensor and its views.
struct Storage {
  float* data = nullptr;
  std::size_t capacity = 0;
  explicit Storage(std::size_t count);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  float* data = nullptr;  // first element (a view may start inside the storage)
  Shape shape;
  std::int64_t numel = 0;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // same shape; null until a gradient arrives
  // The grad exists but reads as zeros: zero_grad() leaves the fill to whoever touches it next, and a
  // backward that writes its result (instead of adding) skips the fill altogether.
  bool grad_is_zero = false;
  // Where on the tape this tensor was produced: -1 for a leaf (user-created or a parameter).
  std::int32_t tape_index = -1;
  std::uint64_t tape_generation = 0;
  // For leaves: the tape generation whose backward has already assigned this leaf's final use
  // (Tape::mark_final_uses, only when a grad-ready hook is installed).
  std::uint64_t final_use_generation = 0;
};

// impl.grad with its deferred zero fill done (see grad_is_zero); null when there is no grad.
const std::shared_ptr<TensorImpl>& materialized_grad(TensorImpl& impl);

}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (like a None)

  // --- factories ---
  static Tensor empty(const Shape& shape);  // uninitialised values
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor arange(float end) { return arange(0.0f, end, 1.0f); }
  static Tensor arange(float start, float end, float step = 1.0f);
  static Tensor from(std::span<const float> values, const Shape& shape);
  static Tensor from(std::initializer_list<float> values, const Shape& shape);
  static Tensor from(std::initializer_list<float> values);  // 1-d
  static Tensor scalar(float value);                        // 0-d
  // Class indices (labels) as a 1-d float32 tensor, the form argmax() returns, so that
  // eq(argmax(logits, 1), Tensor::from_indices(labels)) compares them. Exact below 2^24.
  static Tensor from_indices(std::span<const std::int32_t> indices);
  static Tensor uniform(const Shape& shape, float lo, float hi, Rng& rng);
  static Tensor normal(const Shape& shape, float mean, float stddev, Rng& rng);

  // --- shape and data ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return shape().ndim(); }
  std::int64_t size(int dim) const { return shape()[dim]; }
  std::int64_t numel() const;
  float* data();
  const float* data() const;
  std::span<float> span() { return {data(), static_cast<std::size_t>(numel())}; }
  std::span<const float> span() const { return {data(), static_cast<std::size_t>(numel())}; }
  std::vector<float> to_vector() const;
  // The single value of a one-element tensor; throws ShapeError otherwise.
  float item() const;
  // The same converted to T, as libtorch's item<T>(): item<std::int64_t>() of a count or an argmax.
  // For an integer T the value is truncated toward zero, and a NaN, infinite or out-of-range value
  // throws ValueError.
  template <class T>
  T item() const;
  // Element access by index, one index per dimension (negative indices are not accepted).
  float& at(std::initializer_list<std::int64_t> index);
  float at(std::initializer_list<std::int64_t> index) const;
  void fill_(float value);
  void copy_from(const Tensor& other);  // same numel; values copied, shape kept

  // --- autograd ---
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only for leaves
  bool is_leaf() const;
  Tensor grad() const;  // undefined until backward() has reached this tensor
  // Makes an existing grad read as zeros, keeping its memory. The fill is deferred: the next backward
  // overwrites the buffer where it can instead of adding to zeros. A grad Tensor taken with grad()
  // before zero_grad() may keep its old values (as after PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  void set_grad(const Tensor& g);
  Tensor detach() const;  // shares data, no grad
  Tensor clone() const;   // copies data; recorded on the tape when this requires grad
  // Replays the tape from this tensor backwards. Without an argument the tensor must hold one value
  // (a loss); with one, grad_output (same shape) is the seed, as in torch.autograd.backward.
  void backward() const;
  void backward(const Tensor& grad_output) const;

  // --- sugar for the ops in bend/ops.hpp ---
  Tensor reshape(const Shape& shape) const;
  Tensor reshape(std::initializer_list<std::int64_t> dims) const;  // one size may be -1
  Tensor view(std::initializer_list<std::int64_t> dims) const;     // the same (bend's views are reshapes)
  Tensor t() const;                                                // 2-d transpose (a copy)
  Tensor transpose(int dim0, int dim1) const;
  Tensor permute(std::initializer_list<int> dims) const;
  Tensor sum() const;
  Tensor mean() const;
  Tensor matmul(const Tensor& other) const;
  Tensor argmax() const;
  Tensor argmax(int dim, bool keepdim = false) const;
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;

  bool same_as(const Tensor& other) const { return impl_ == other.impl_; }
  detail::TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);
Tensor operator-(const Tensor& a);
// Comparisons give 0/1 float32 masks (bend/ops.hpp's eq, ne, lt, gt), never a bool: use same_as()
// to ask whether two handles are the same tensor.
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, float b);
Tensor operator!=(const Tensor& a, float b);
Tensor operator<(const Tensor& a, float b);
Tensor operator>(const Tensor& a, float b);

namespace detail {
// item<T>()'s range check for integer T: throws ValueError unless v is finite and within [lo, hi].
void check_item_range(float v, double lo, double hi, const char* type);
}  // namespace detail

template <class T>
T Tensor::item() const {
  const float v = item();
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    detail::check_item_range(v, static_cast<double>(std::numeric_limits<T>::min()),
                             static_cast<double>(std::numeric_limits<T>::max()), "an integer");
  }
  return static_cast<T>(v);
}

}  // namespace bend
