// Torch-style printing of tensors.
#include "bend/format.hpp"

#include <cmath>

namespace bend {
namespace {

struct Printer {
  const float* data;
  const Shape& shape;
  int precision;
  bool summarize;
  std::int64_t edge;
  std::string out;

  void value(float v) {
    if (std::isnan(v))
      out += "nan";
    else if (std::isinf(v))
      out += v > 0 ? "inf" : "-inf";
    else
      fmt::format_to(std::back_inserter(out), "{:.{}f}", v, precision);
  }

  // Prints dimension `dim` starting at flat offset `offset`; `indent` columns for nested rows.
  void dimension(int dim, std::int64_t offset, int indent) {
    const std::int64_t n = shape[dim];
    std::int64_t stride = 1;
    for (int k = dim + 1; k < shape.ndim(); ++k) stride *= shape[k];
    out += '[';
    const bool elide = summarize && n > 2 * edge;
    for (std::int64_t i = 0; i < n; ++i) {
      if (elide && i == edge) {
        out += dim + 1 == shape.ndim() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
        i = n - edge;
      }
      if (dim + 1 == shape.ndim())
        value(data[offset + i * stride]);
      else
        dimension(dim + 1, offset + i * stride, indent + 1);
      if (i + 1 < n) {
        out += ',';
        if (dim + 1 == shape.ndim())
          out += ' ';
        else
          out += fmt::format("{}{:{}}", std::string(static_cast<std::size_t>(shape.ndim() - dim - 1), '\n'),
                             "", indent + 1);
      }
    }
    out += ']';
  }
};

}  // namespace

std::string to_string(const Tensor& t, int precision, std::int64_t threshold, std::int64_t edge_items) {
  if (!t.defined()) return "tensor(undefined)";
  Printer p{t.data(), t.shape(), precision, t.numel() > threshold, edge_items, "tensor("};
  if (t.ndim() == 0)
    p.value(t.data()[0]);
  else
    p.dimension(0, 0, 7);
  if (t.numel() > threshold || t.ndim() > 1) p.out += fmt::format(", shape={}", t.shape().str());
  if (t.requires_grad()) p.out += ", requires_grad=True";
  p.out += ')';
  return p.out;
}

}  // namespace bend
