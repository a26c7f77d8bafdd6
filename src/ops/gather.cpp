// Indexing ops with their backward beside the forward (declared in bend/ops.hpp):
//   index_select_rows: y[k] = a[rows[k]]                      da[rows[k]] += dy[k]
//   gather_columns:    y[r] = a[r, columns[r]]                da[r, columns[r]] += dy[r]
//   index_add_rows:    y = base; y[rows[k]] += source[k]      dbase += dy; dsource[k] += dy[rows[k]]
// The tape keeps the indices as a float tensor (as the losses keep their targets), which is exact
// below 2^24.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend {
namespace {

constexpr std::int64_t kMaxSavedIndex = std::int64_t{1} << 24;  // floats hold every integer below this

template <class Index>
Tensor indices_as_floats(std::span<const Index> indices, const char* op) {
  Tensor t = Tensor::empty(Shape{static_cast<std::int64_t>(indices.size())});
  float* p = t.data();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (static_cast<std::int64_t>(indices[k]) >= kMaxSavedIndex)
      throw ValueError(
          fmt::format("{}: index {} at position {} is too large to differentiate through (the limit is {})",
                      op, static_cast<std::int64_t>(indices[k]), k, kMaxSavedIndex));
    p[k] = static_cast<float>(indices[k]);
  }
  return t;
}

// Throws ValueError unless every index is in [0, bound).
template <class Index>
void check_indices(std::span<const Index> indices, std::int64_t bound, const char* op, const char* what) {
  for (std::size_t k = 0; k < indices.size(); ++k)
    if (indices[k] < 0 || static_cast<std::int64_t>(indices[k]) >= bound)
      throw ValueError(fmt::format("{}: {} {} at position {} is out of range [0, {})", op, what,
                                   static_cast<std::int64_t>(indices[k]), k, bound));
}

std::int64_t row_size(const Tensor& a) { return a.size(0) == 0 ? 0 : a.numel() / a.size(0); }

// Entry: in = {a}; saved[0] = rows; i[0] = elements per row.
void index_select_rows_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float* rows = e.saved[0].data();
  const std::int64_t count = e.saved[0].numel(), width = e.i[0];
  const float* gy = output_grad(e);
  for (std::int64_t k = 0; k < count; ++k) {
    float* dst = ga + static_cast<std::int64_t>(rows[k]) * width;
    const float* src = gy + k * width;
    for (std::int64_t j = 0; j < width; ++j) dst[j] += src[j];
  }
}

// Entry: in = {a [N, C]}; saved[0] = columns [N].
void gather_columns_backward(TapeEntry& e) {
  float* ga = grad_for_accumulation(e.in[0]);
  if (!ga) return;
  const float* columns = e.saved[0].data();
  const std::int64_t n = e.in[0].size(0), c = e.in[0].size(1);
  const float* gy = output_grad(e);
  for (std::int64_t r = 0; r < n; ++r) ga[r * c + static_cast<std::int64_t>(columns[r])] += gy[r];
}

// Entry: in = {base, source}; saved[0] = rows; i[0] = elements per row.
void index_add_rows_backward(TapeEntry& e) {
  const float* gy = output_grad(e);
  if (float* gbase = grad_for_accumulation(e.in[0])) {
    const std::int64_t n = e.out.numel();
    for (std::int64_t k = 0; k < n; ++k) gbase[k] += gy[k];
  }
  if (float* gsource = grad_for_accumulation(e.in[1])) {
    const float* rows = e.saved[0].data();
    const std::int64_t count = e.saved[0].numel(), width = e.i[0];
    for (std::int64_t k = 0; k < count; ++k) {
      const float* src = gy + static_cast<std::int64_t>(rows[k]) * width;
      float* dst = gsource + k * width;
      for (std::int64_t j = 0; j < width; ++j) dst[j] += src[j];
    }
  }
}

}  // namespace

Tensor index_select_rows(const Tensor& a, std::span<const std::int64_t> rows) {
  if (a.ndim() < 1)
    throw ShapeError(fmt::format("index_select_rows: needs at least 1 dimension, got {}", a.shape().str()));
  check_indices(rows, a.size(0), "index_select_rows", "row");
  const std::int64_t width = row_size(a);
  Tensor y = Tensor::empty(a.shape().with_dim(0, static_cast<std::int64_t>(rows.size())));
  const float* pa = a.data();
  float* py = y.data();
  for (std::size_t k = 0; k < rows.size(); ++k)
    std::copy_n(pa + rows[k] * width, width, py + static_cast<std::int64_t>(k) * width);
  if (TapeEntry* e = tape().record(y, &index_select_rows_backward, "index_select_rows", {a})) {
    e->saved[0] = indices_as_floats(rows, "index_select_rows");
    e->i[0] = width;
  }
  return y;
}

Tensor gather_columns(const Tensor& a, std::span<const std::int32_t> columns) {
  if (a.ndim() != 2 || a.size(0) != static_cast<std::int64_t>(columns.size()))
    throw ShapeError(
        fmt::format("gather_columns: needs a 2-d input with one row per index, got {} and {} indices",
                    a.shape().str(), columns.size()));
  const std::int64_t n = a.size(0), c = a.size(1);
  check_indices(columns, c, "gather_columns", "column");
  Tensor y = Tensor::empty(Shape{n});
  const float* pa = a.data();
  float* py = y.data();
  for (std::int64_t r = 0; r < n; ++r) py[r] = pa[r * c + columns[static_cast<std::size_t>(r)]];
  if (TapeEntry* e = tape().record(y, &gather_columns_backward, "gather_columns", {a}))
    e->saved[0] = indices_as_floats(columns, "gather_columns");
  return y;
}

Tensor index_add_rows(const Tensor& base, std::span<const std::int64_t> rows, const Tensor& source) {
  if (base.ndim() < 1 ||
      !(source.shape() == base.shape().with_dim(0, static_cast<std::int64_t>(rows.size()))))
    throw ShapeError(fmt::format("index_add_rows: source {} does not fit base {} with {} row indices",
                                 source.shape().str(), base.shape().str(), rows.size()));
  check_indices(rows, base.size(0), "index_add_rows", "row");
  const std::int64_t width = row_size(base);
  Tensor y = Tensor::empty(base.shape());
  float* py = y.data();
  if (y.numel() > 0) std::memcpy(py, base.data(), static_cast<std::size_t>(y.numel()) * sizeof(float));
  const float* ps = source.data();
  for (std::size_t k = 0; k < rows.size(); ++k) {
    float* dst = py + rows[k] * width;
    const float* src = ps + static_cast<std::int64_t>(k) * width;
    for (std::int64_t j = 0; j < width; ++j) dst[j] += src[j];
  }
  if (TapeEntry* e = tape().record(y, &index_add_rows_backward, "index_add_rows", {base, source})) {
    e->saved[0] = indices_as_floats(rows, "index_add_rows");
    e->i[0] = width;
  }
  return y;
}

}  // namespace bend
