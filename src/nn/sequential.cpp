// Sequential: ordered children, PyTorch's naming, and the summary table.
#include "bend/nn/sequential.hpp"
#include <array>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

Sequential::Sequential(std::initializer_list<AnyModule> modules) {
  for (const AnyModule& m : modules) push_back(m);
}

void Sequential::push_back(AnyModule m) { push_back(std::to_string(children().size()), std::move(m)); }

void Sequential::push_back(std::string name, AnyModule m) {
  for (const auto& [taken, child] : children())
    if (!name.empty() && taken == name)
      throw ValueError(fmt::format("Sequential: a second module named '{}' ({})", name, m.ptr()->describe()));
  const NamedTensors mine = state_dict();
  for (const auto& [tensor, value] : m.ptr()->state_dict()) {
    const std::string full = name.empty() ? tensor : name + "." + tensor;
    for (const auto& [existing, t] : mine)
      if (existing == full)
        throw ValueError(fmt::format("Sequential: '{}' of {} is already a tensor name of this model", full,
                                     m.ptr()->describe()));
  }
  register_module(std::move(name), m.ptr());
}

void Sequential::set_input_shape(std::vector<std::int64_t> sample_shape) {
  if (sample_shape.size() + 1 > static_cast<std::size_t>(Shape::kMaxDims))
    throw ValueError(
        fmt::format("Sequential: a sample shape of {} dimensions is too many", sample_shape.size()));
  input_shape_ = std::move(sample_shape);
}

Tensor Sequential::view_input(const Tensor& x) const {
  if (input_shape_.empty() || x.ndim() != 2) return x;
  std::int64_t features = 1;
  for (std::int64_t d : input_shape_) features *= d;
  if (x.size(1) != features)
    throw ShapeError(fmt::format("Sequential: input {} has {} values per sample, expected {} ([{}])",
                                 x.shape().str(), x.size(1), features, fmt::join(input_shape_, ", ")));
  if (input_shape_.size() + 1 > static_cast<std::size_t>(Shape::kMaxDims))
    throw ShapeError(fmt::format("Sequential: input shape [{}] has more than {} dimensions with the batch",
                                 fmt::join(input_shape_, ", "), Shape::kMaxDims));
  std::array<std::int64_t, Shape::kMaxDims> dims{};  // on the stack: a steady inference allocates nothing
  dims[0] = x.size(0);
  std::copy(input_shape_.begin(), input_shape_.end(), dims.begin() + 1);
  return reshape(x, Shape(std::span<const std::int64_t>(dims.data(), input_shape_.size() + 1)));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = view_input(x);
  for (const auto& [name, child] : children()) h = child->forward(h);
  return h;
}

std::string Sequential::describe() const {
  std::string out = "Sequential(\n";
  for (const auto& [name, child] : children()) out += fmt::format("  ({}): {}\n", name, child->describe());
  return out + ")";
}

namespace {
std::string with_commas(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

std::string Sequential::summary(const Shape& input) {
  struct Row {
    std::string index, layer, shape, params;
  };
  std::vector<Row> rows;
  NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  Tensor h = view_input(Tensor::zeros(input));
  std::int64_t total = 0;
  for (const auto& [name, child] : children()) {
    h = child->forward(h);
    const std::int64_t n = child->num_parameters();
    total += n;
    rows.push_back({name, child->describe(), h.shape().str(), with_commas(n)});
  }
  train(was_training);
  std::size_t w_index = 1, w_layer = 5, w_shape = 12, w_params = 10;
  for (const Row& r : rows) {
    w_index = std::max(w_index, r.index.size());
    w_layer = std::max(w_layer, r.layer.size());
    w_shape = std::max(w_shape, r.shape.size());
    w_params = std::max(w_params, r.params.size());
  }
  std::string out;
  const std::string rule(w_index + w_layer + w_shape + w_params + 9, '-');
  out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", "#", w_index, "Layer", w_layer, "Output shape",
                     w_shape, "Parameters", w_params);
  out += rule + "\n";
  for (const Row& r : rows)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", r.index, w_index, r.layer, w_layer, r.shape,
                       w_shape, r.params, w_params);
  out += rule + "\n";
  out += fmt::format("Total parameters: {} (input {})\n", with_commas(total), input.str());
  return out;
}

}  // namespace bend::nn
