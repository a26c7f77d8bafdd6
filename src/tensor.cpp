// Tensor: creation, access and autograd plumbing. The ops themselves live in src/ops/.
#include "bend/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend {

namespace detail {
Storage::Storage(std::size_t count) { data = acquire_floats(count, capacity); }
Storage::~Storage() { release_floats(data, capacity); }
}  // namespace detail

namespace {
detail::TensorImpl& checked(const std::shared_ptr<detail::TensorImpl>& impl, const char* what) {
  if (!impl) throw ValueError(fmt::format("{}: the tensor is undefined", what));
  return *impl;
}
}  // namespace

Tensor Tensor::empty(const Shape& shape) {
  auto impl = std::allocate_shared<detail::TensorImpl>(detail::RecyclingAllocator<detail::TensorImpl>{});
  const std::int64_t n = shape.numel();
  impl->storage = std::allocate_shared<detail::Storage>(detail::RecyclingAllocator<detail::Storage>{},
                                                        static_cast<std::size_t>(n));
  impl->data = impl->storage->data;
  impl->shape = shape;
  impl->numel = n;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(float start, float end, float step) {
  if (step == 0.0f) throw ValueError("arange: step must not be zero");
  const double count = std::ceil((static_cast<double>(end) - start) / step);
  const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  Tensor t = empty(Shape{n});
  for (std::int64_t k = 0; k < n; ++k)
    t.data()[k] = static_cast<float>(start + static_cast<double>(step) * k);
  return t;
}

Tensor Tensor::from(std::span<const float> values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    throw ShapeError(fmt::format("Tensor::from: {} values given for shape {} ({} elements)", values.size(),
                                 shape.str(), shape.numel()));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::from(std::initializer_list<float> values, const Shape& shape) {
  return from(std::span<const float>(values.begin(), values.size()), shape);
}

Tensor Tensor::from(std::initializer_list<float> values) {
  return from(values, Shape{static_cast<std::int64_t>(values.size())});
}

Tensor Tensor::scalar(float value) { return full(Shape{}, value); }

Tensor Tensor::from_indices(std::span<const std::int32_t> indices) {
  Tensor t = empty(Shape{static_cast<std::int64_t>(indices.size())});
  float* p = t.data();
  for (std::size_t k = 0; k < indices.size(); ++k) p[k] = static_cast<float>(indices[k]);
  return t;
}

Tensor Tensor::uniform(const Shape& shape, float lo, float hi, Rng& rng) {
  Tensor t = empty(shape);
  for (float& v : t.span()) v = rng.uniform(lo, hi);
  return t;
}

Tensor Tensor::normal(const Shape& shape, float mean, float stddev, Rng& rng) {
  Tensor t = empty(shape);
  for (float& v : t.span()) v = rng.normal(mean, stddev);
  return t;
}

const Shape& Tensor::shape() const { return checked(impl_, "shape").shape; }
std::int64_t Tensor::numel() const { return checked(impl_, "numel").numel; }
float* Tensor::data() { return checked(impl_, "data").data; }
const float* Tensor::data() const { return checked(impl_, "data").data; }

std::vector<float> Tensor::to_vector() const {
  auto s = span();
  return {s.begin(), s.end()};
}

float Tensor::item() const {
  if (numel() != 1)
    throw ShapeError(fmt::format("item: the tensor has shape {} ({} values); item() needs exactly one",
                                 shape().str(), numel()));
  return data()[0];
}

void detail::check_item_range(float v, double lo, double hi, const char* type) {
  // Truncation toward zero keeps anything in (lo - 1, hi + 1) inside the type.
  if (!std::isfinite(v) || static_cast<double>(v) <= lo - 1.0 || static_cast<double>(v) >= hi + 1.0)
    throw ValueError(fmt::format("item: {} does not fit in {} type ([{}, {}])", v, type, lo, hi));
}

namespace {
std::int64_t flat_index(const Shape& shape, std::initializer_list<std::int64_t> index) {
  if (static_cast<int>(index.size()) != shape.ndim())
    throw ShapeError(fmt::format("at: {} indices given for a tensor of shape {}", index.size(), shape.str()));
  std::int64_t flat = 0;
  int d = 0;
  for (std::int64_t i : index) {
    if (i < 0 || i >= shape[d])
      throw ShapeError(
          fmt::format("at: index {} is out of range for dimension {} of shape {}", i, d, shape.str()));
    flat = flat * shape[d] + i;
    ++d;
  }
  return flat;
}
}  // namespace

float& Tensor::at(std::initializer_list<std::int64_t> index) { return data()[flat_index(shape(), index)]; }
float Tensor::at(std::initializer_list<std::int64_t> index) const {
  return data()[flat_index(shape(), index)];
}

void Tensor::fill_(float value) { std::fill_n(data(), numel(), value); }

void Tensor::copy_from(const Tensor& other) {
  if (other.numel() != numel())
    throw ShapeError(fmt::format("copy_from: source has shape {} but destination has shape {}",
                                 other.shape().str(), shape().str()));
  std::copy_n(other.data(), numel(), data());
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  auto& impl = checked(impl_, "requires_grad_");
  if (impl.tape_index >= 0 && !on)
    throw AutogradError("requires_grad_: only leaf tensors can change requires_grad; use detach()");
  impl.requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return checked(impl_, "is_leaf").tape_index < 0; }

namespace detail {
const std::shared_ptr<TensorImpl>& materialized_grad(TensorImpl& impl) {
  if (impl.grad && impl.grad_is_zero) {
    std::fill_n(impl.grad->data, impl.grad->numel, 0.0f);
    impl.grad_is_zero = false;
  }
  return impl.grad;
}
}  // namespace detail

Tensor Tensor::grad() const {
  auto& impl = checked(impl_, "grad");
  if (!impl.grad) return Tensor();
  return Tensor(detail::materialized_grad(impl));
}

void Tensor::zero_grad() {
  auto& impl = checked(impl_, "zero_grad");
  if (impl.grad) impl.grad_is_zero = true;  // filled by the next reader, or overwritten by backward
}

void Tensor::set_grad(const Tensor& g) {
  auto& impl = checked(impl_, "set_grad");
  if (g.defined() && !(g.shape() == impl.shape))
    throw ShapeError(fmt::format("set_grad: gradient of shape {} for a tensor of shape {}", g.shape().str(),
                                 impl.shape.str()));
  impl.grad = g.impl_;
  impl.grad_is_zero = false;
}

Tensor Tensor::detach() const {
  auto& src = checked(impl_, "detach");
  auto impl = std::allocate_shared<detail::TensorImpl>(detail::RecyclingAllocator<detail::TensorImpl>{});
  impl->storage = src.storage;
  impl->data = src.data;
  impl->shape = src.shape;
  impl->numel = src.numel;
  return Tensor(std::move(impl));
}

void Tensor::backward() const { tape().run_backward(*this, nullptr); }
void Tensor::backward(const Tensor& grad_output) const { tape().run_backward(*this, &grad_output); }

Tensor Tensor::reshape(const Shape& s) const { return bend::reshape(*this, s); }
Tensor Tensor::reshape(std::initializer_list<std::int64_t> dims) const { return bend::reshape(*this, dims); }
Tensor Tensor::view(std::initializer_list<std::int64_t> dims) const { return bend::reshape(*this, dims); }
Tensor Tensor::t() const { return bend::transpose(*this); }
Tensor Tensor::transpose(int dim0, int dim1) const { return bend::transpose(*this, dim0, dim1); }
Tensor Tensor::permute(std::initializer_list<int> dims) const { return bend::permute(*this, dims); }
Tensor Tensor::argmax() const { return bend::argmax(*this); }
Tensor Tensor::argmax(int dim, bool keepdim) const { return bend::argmax(*this, dim, keepdim); }
Tensor Tensor::eq(const Tensor& other) const { return bend::eq(*this, other); }
Tensor Tensor::ne(const Tensor& other) const { return bend::ne(*this, other); }
Tensor Tensor::lt(const Tensor& other) const { return bend::lt(*this, other); }
Tensor Tensor::gt(const Tensor& other) const { return bend::gt(*this, other); }
Tensor Tensor::sum() const { return bend::sum(*this); }
Tensor Tensor::mean() const { return bend::mean(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return bend::matmul(*this, other); }
Tensor Tensor::clone() const { return bend::clone(*this); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, float b) { return add(a, b); }
Tensor operator-(const Tensor& a, float b) { return add(a, -b); }
Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
Tensor operator/(const Tensor& a, float b) { return div(a, b); }
Tensor operator+(float a, const Tensor& b) { return add(b, a); }
Tensor operator-(float a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(float a, const Tensor& b) { return mul(b, a); }
Tensor operator/(float a, const Tensor& b) { return mul(reciprocal(b), a); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator==(const Tensor& a, float b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, float b) { return ne(a, b); }
Tensor operator<(const Tensor& a, float b) { return lt(a, b); }
Tensor operator>(const Tensor& a, float b) { return gt(a, b); }

}  // namespace bend
