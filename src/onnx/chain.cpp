// ONNX graph -> chain of bend layers: each node (or run of pointwise nodes) matched to an entry of the
// layer table, every attribute either honoured or named in the error.
#include "bend/onnx/chain.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include "../ops/window2d.hpp"  // detail::pool_output_size: bend's (PyTorch's) pool output size
#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/onnx/onnx.hpp"
#include "bend/rng.hpp"
#include "pointwise_eval.hpp"

namespace bend::onnx {
namespace {

namespace pb = ::onnx;
using std::int64_t;

constexpr int64_t kMaxValues = int64_t{1} << 28;  // per tensor: 1 GiB of floats

// A constant: an initializer or a Constant node's value, as floats (or int64 for shapes and axes).
struct Constant {
  std::vector<int64_t> dims;
  std::vector<float> values;
  std::vector<int64_t> ints;
  bool is_int = false;
  int64_t numel() const {
    return is_int ? static_cast<int64_t>(ints.size()) : static_cast<int64_t>(values.size());
  }
};

class Reader {
 public:
  Reader(const pb::ModelProto& model, std::string_view name) : model_(model), name_(name) {}
  Chain read();

 private:
  const pb::ModelProto& model_;
  std::string name_;
  std::map<std::string, Constant> constants_;
  std::map<std::string, int> uses_;  // how many node inputs (and graph outputs) read each value
  std::vector<const pb::NodeProto*> nodes_;

  [[noreturn]] void fail(const std::string& what) const {
    throw ValueError(fmt::format("{}: {}", name_, what));
  }
  [[noreturn]] void unsupported(const pb::NodeProto& n, const std::string& why) const {
    fail(fmt::format("node '{}' ({}): {}", n.name(), n.op_type(), why));
  }
  Constant read_tensor(const pb::TensorProto& t, const std::string& where) const;
  const Constant* constant(const std::string& value) const {
    const auto it = constants_.find(value);
    return it == constants_.end() ? nullptr : &it->second;
  }
  const Constant& need_constant(const pb::NodeProto& n, int input, std::string_view what) const;
  std::string attributes_text(const pb::NodeProto& n) const;
};

// Attribute access with ONNX's defaults.
const pb::AttributeProto* find_attribute(const pb::NodeProto& n, std::string_view name) {
  for (const pb::AttributeProto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t int_attribute(const pb::NodeProto& n, std::string_view name, int64_t fallback) {
  const pb::AttributeProto* a = find_attribute(n, name);
  return a ? a->i() : fallback;
}
float float_attribute(const pb::NodeProto& n, std::string_view name, float fallback) {
  const pb::AttributeProto* a = find_attribute(n, name);
  return a ? a->f() : fallback;
}
std::vector<int64_t> ints_attribute(const pb::NodeProto& n, std::string_view name) {
  const pb::AttributeProto* a = find_attribute(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

std::string Reader::attributes_text(const pb::NodeProto& n) const {
  std::string out;
  for (const pb::AttributeProto& a : n.attribute()) {
    std::string value;
    switch (a.type()) {
      case pb::AttributeProto::INT:
        value = std::to_string(a.i());
        break;
      case pb::AttributeProto::FLOAT:
        value = fmt::format("{}", a.f());
        break;
      case pb::AttributeProto::STRING:
        value = a.s().substr(0, 40);
        break;
      case pb::AttributeProto::INTS:
        value = fmt::format("[{}]", fmt::join(a.ints(), ", "));
        break;
      default:
        value = "...";
        break;
    }
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", a.name().substr(0, 40), value);
  }
  return out;
}

Constant Reader::read_tensor(const pb::TensorProto& t, const std::string& where) const {
  if (t.data_location() == pb::TensorProto::EXTERNAL || t.external_data_size() > 0)
    fail(fmt::format("{}: external data is not read (save the model with its tensors inside)", where));
  Constant c;
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && numel > kMaxValues / d))
      fail(fmt::format("{}: dims {} are not a tensor bend reads", where, fmt::join(t.dims(), "x")));
    numel *= d;
    c.dims.push_back(d);
  }
  const std::string& raw = t.raw_data();
  const auto n = static_cast<std::size_t>(numel);
  auto from_raw = [&](std::size_t element_size, auto* out) {
    if (raw.size() != n * element_size)
      fail(
          fmt::format("{}: {} bytes of data for {} values (corrupt or truncated)", where, raw.size(), numel));
    if (!raw.empty()) std::memcpy(out, raw.data(), raw.size());  // an empty tensor's buffer may be null
  };
  auto check_count = [&](int count) {
    if (static_cast<std::size_t>(count) != n)
      fail(fmt::format("{}: {} values for dims {} (corrupt or truncated)", where, count,
                       fmt::join(t.dims(), "x")));
  };
  switch (t.data_type()) {
    case pb::TensorProto::FLOAT:
      c.values.resize(n);
      if (t.has_raw_data()) {
        from_raw(4, c.values.data());
      } else {
        check_count(t.float_data_size());
        std::copy(t.float_data().begin(), t.float_data().end(), c.values.begin());
      }
      break;
    case pb::TensorProto::DOUBLE: {
      std::vector<double> d(n);
      if (t.has_raw_data()) {
        from_raw(8, d.data());
      } else {
        check_count(t.double_data_size());
        std::copy(t.double_data().begin(), t.double_data().end(), d.begin());
      }
      c.values.assign(d.begin(), d.end());
      break;
    }
    case pb::TensorProto::INT64:
      c.is_int = true;
      c.ints.resize(n);
      if (t.has_raw_data()) {
        from_raw(8, c.ints.data());
      } else {
        check_count(t.int64_data_size());
        std::copy(t.int64_data().begin(), t.int64_data().end(), c.ints.begin());
      }
      break;
    case pb::TensorProto::INT32: {
      c.is_int = true;
      std::vector<std::int32_t> d(n);
      if (t.has_raw_data()) {
        from_raw(4, d.data());
      } else {
        check_count(t.int32_data_size());
        std::copy(t.int32_data().begin(), t.int32_data().end(), d.begin());
      }
      c.ints.assign(d.begin(), d.end());
      break;
    }
    default:
      fail(fmt::format("{}: data type {} is not one bend reads (float, double, int32, int64)", where,
                       static_cast<int>(t.data_type())));
  }
  return c;
}

const Constant& Reader::need_constant(const pb::NodeProto& n, int input, std::string_view what) const {
  if (n.input_size() <= input || n.input(input).empty())
    unsupported(n, fmt::format("its {} is missing", what));
  const Constant* c = constant(n.input(input));
  if (c == nullptr)
    unsupported(
        n, fmt::format("its {} '{}' is computed in the graph, not a constant weight", what, n.input(input)));
  if (c->is_int) unsupported(n, fmt::format("its {} '{}' holds integers, not weights", what, n.input(input)));
  return *c;
}

Tensor to_tensor(const Constant& c, const Shape& shape) {
  return Tensor::from(std::span<const float>(c.values), shape);
}

Tensor transposed(const Constant& c) {  // a 2-d [r, k] constant as its transpose [k, r]
  const int64_t r = c.dims[0], k = c.dims[1];
  std::vector<float> out(c.values.size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < k; ++j)
      out[static_cast<std::size_t>(j * r + i)] = c.values[static_cast<std::size_t>(i * k + j)];
  return Tensor::from(std::span<const float>(out), {k, r});
}

// The bias of a dense layer with `out` features from a constant of `out` values or one value broadcast.
std::optional<std::vector<float>> bias_values(const Constant& c, int64_t out) {
  if (c.numel() == out) return c.values;
  if (c.numel() == 1) return std::vector<float>(static_cast<std::size_t>(out), c.values[0]);
  return std::nullopt;
}

Chain Reader::read() {
  Chain chain;
  chain.producer = (model_.producer_name() + " " + model_.producer_version()).substr(0, 80);
  if (!chain.producer.empty() && chain.producer.back() == ' ') chain.producer.pop_back();
  for (const pb::OperatorSetIdProto& o : model_.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") chain.opset = o.version();
  if (chain.opset == 0) fail("no ai.onnx opset in opset_import (not an ONNX model, or a truncated one)");
  if (chain.opset > kOpset)
    fail(fmt::format("opset {} is newer than bend reads ({}); convert it with onnx.version_converter",
                     chain.opset, kOpset));
  if (!model_.has_graph()) fail("no graph (not an ONNX model, or a truncated one)");
  const pb::GraphProto& g = model_.graph();

  for (const pb::TensorProto& t : g.initializer())
    constants_[t.name()] = read_tensor(t, fmt::format("initializer '{}'", t.name()));
  std::vector<const pb::ValueInfoProto*> inputs;
  for (const pb::ValueInfoProto& v : g.input())
    if (!constants_.contains(v.name())) inputs.push_back(&v);
  if (inputs.size() != 1)
    fail(fmt::format("the graph has {} inputs besides its weights; bend reads models of one input",
                     inputs.size()));
  if (g.output_size() < 1) fail("the graph has no output");
  for (const pb::NodeProto& n : g.node()) {
    if (n.domain() != "" && n.domain() != "ai.onnx")
      unsupported(n, fmt::format("domain '{}' is not ONNX's", n.domain()));
    if (n.op_type() == "Constant") {
      const pb::AttributeProto* value = find_attribute(n, "value");
      const pb::AttributeProto* value_float = find_attribute(n, "value_float");
      const pb::AttributeProto* value_ints = find_attribute(n, "value_ints");
      if (n.output_size() != 1) unsupported(n, "a Constant with other than one output");
      if (value && value->has_t())
        constants_[n.output(0)] = read_tensor(value->t(), fmt::format("node '{}'", n.name()));
      else if (value_float)
        constants_[n.output(0)] = Constant{{}, {value_float->f()}, {}, false};
      else if (value_ints)
        constants_[n.output(0)] = Constant{
            {value_ints->ints_size()}, {}, {value_ints->ints().begin(), value_ints->ints().end()}, true};
      else
        unsupported(n, fmt::format("attributes {} are not a value bend reads", attributes_text(n)));
      continue;
    }
    nodes_.push_back(&n);
    for (const std::string& in : n.input()) ++uses_[in];
  }
  for (const pb::ValueInfoProto& v : g.output()) ++uses_[v.name()];

  // The input: [batch, ...sample], float.
  const pb::ValueInfoProto& input = *inputs.front();
  if (!input.type().has_tensor_type() || input.type().tensor_type().elem_type() != pb::TensorProto::FLOAT)
    fail(fmt::format("the input '{}' is not a float tensor", input.name()));
  const pb::TensorShapeProto& shape = input.type().tensor_type().shape();
  if (shape.dim_size() < 2 || shape.dim_size() > 4)
    fail(fmt::format("the input '{}' has {} dimensions; bend reads [batch, features] or [batch, C, H, W]",
                     input.name(), shape.dim_size()));
  for (int i = 1; i < shape.dim_size(); ++i) {
    if (!shape.dim(i).has_dim_value() || shape.dim(i).dim_value() <= 0 ||
        shape.dim(i).dim_value() > kMaxValues)
      fail(fmt::format("the input '{}' has no fixed size in dimension {}", input.name(), i));
    chain.input.push_back(shape.dim(i).dim_value());
  }

  std::string x = input.name();
  nn::SampleShape sample = chain.input;
  const std::string output = g.output(0).name();
  bool first = true;  // no layer yet: a pointwise affine run is the input's standardization
  auto add = [&](nn::LayerSpec layer, nn::NamedTensors state, const pb::NodeProto& n) {
    first = false;
    const nn::LayerKind& kind = nn::find_layer_kind(layer.kind);
    nn::LayerShape out;
    try {
      out = kind.infer(layer, sample);
    } catch (const ValueError& e) {
      unsupported(n, fmt::format("as bend's {} on a {} sample: {}", kind.summary,
                                 nn::sample_shape_string(sample), e.what()));
    }
    chain.layers.push_back({std::move(layer), sample, std::move(state), n.name()});
    sample = out.output;
  };
  auto only_output = [&](const pb::NodeProto& n) {
    for (int o = 1; o < n.output_size(); ++o)
      if (!n.output(o).empty() && uses_[n.output(o)] > 0)
        unsupported(
            n, fmt::format("its output {} ('{}') is used; bend computes only the first", o, n.output(o)));
    return n.output(0);
  };
  auto image_attributes = [&](const pb::NodeProto& n, int64_t k_h, int64_t k_w, bool with_dilation) {
    struct Window {
      int64_t kernel, stride, pad, dilation;
    } w{};
    if (k_h != k_w)
      unsupported(n, fmt::format("attribute kernel_shape=[{}, {}]: bend's kernels are square", k_h, k_w));
    w.kernel = k_h;
    const std::vector<int64_t> strides = ints_attribute(n, "strides"), pads = ints_attribute(n, "pads"),
                               dilations = ints_attribute(n, "dilations");
    if (const auto* a = find_attribute(n, "auto_pad");
        a && a->s() != "NOTSET" &&
        !(a->s() == "VALID" && std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; })))
      unsupported(n, fmt::format("attribute auto_pad={}: bend pads explicitly", a->s().substr(0, 20)));
    if (!strides.empty() && (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1))
      unsupported(n, fmt::format("attribute strides=[{}]: bend's strides are equal in both directions",
                                 fmt::join(strides, ", ")));
    w.stride = strides.empty() ? 1 : strides[0];
    if (!pads.empty() &&
        (pads.size() != 4 ||
         std::adjacent_find(pads.begin(), pads.end(), std::not_equal_to<>()) != pads.end() || pads[0] < 0))
      unsupported(
          n, fmt::format("attribute pads=[{}]: bend pads the same on every side", fmt::join(pads, ", ")));
    w.pad = pads.empty() ? 0 : pads[0];
    if (!dilations.empty() && (dilations.size() != 2 || dilations[0] != dilations[1] || dilations[0] < 1 ||
                               (!with_dilation && dilations[0] != 1)))
      unsupported(
          n, fmt::format("attribute dilations=[{}]: bend's {} dilation is {}", fmt::join(dilations, ", "),
                         n.op_type(), with_dilation ? "the same in both directions" : "1"));
    w.dilation = dilations.empty() ? 1 : dilations[0];
    if (sample.size() != 3)
      unsupported(n, fmt::format("its input is {} per sample, not an image [C, H, W]",
                                 nn::sample_shape_string(sample)));
    return w;
  };

  std::size_t i = 0;
  while (i < nodes_.size()) {
    const pb::NodeProto& n = *nodes_[i];
    const std::string& op = n.op_type();
    if (n.output_size() < 1 || n.output(0).empty()) unsupported(n, "no output");
    if (n.input_size() < 1) unsupported(n, "no input");
    if (x ==
        output) {  // the logits reached: only their Softmax or LogSoftmax as a further output (bend's export)
      const bool graph_output =
          std::any_of(g.output().begin(), g.output().end(),
                      [&](const pb::ValueInfoProto& v) { return v.name() == n.output(0); });
      if ((op != "Softmax" && op != "LogSoftmax") || n.input(0) != x || !graph_output)
        unsupported(n, fmt::format("a node after the graph's output '{}'", output));
      chain.softmax_output = true;
      ++i;
      continue;
    }
    if (std::find(n.input().begin(), n.input().end(), x) == n.input().end())
      unsupported(n, fmt::format("not a chain: it does not read the previous layer's output '{}'", x));
    if (n.output_size() < 1) unsupported(n, "no output");
    // The graph's last node may be a Softmax or LogSoftmax over the classes: bend's models end in logits.
    if ((op == "Softmax" || op == "LogSoftmax") && i + 1 == nodes_.size() && n.output(0) == output) {
      const int64_t axis = int_attribute(n, "axis", -1);
      if (sample.size() != 1 || (axis != 1 && axis != -1))
        unsupported(
            n, fmt::format("attribute axis={} on a {} sample: bend's models end in one vector of classes",
                           axis, nn::sample_shape_string(sample)));
      chain.softmax_output = true;
      x = output;
      ++i;
      break;
    }
    if (op == "Pad") {  // torch.onnx.export puts a Pad of zeros before an AveragePool
      const Constant* pads = n.input_size() > 1 ? constant(n.input(1)) : nullptr;
      const std::vector<int64_t> pad_values = pads && pads->is_int ? pads->ints : ints_attribute(n, "pads");
      if (std::any_of(pad_values.begin(), pad_values.end(), [](int64_t v) { return v != 0; }))
        unsupported(n, fmt::format("pads=[{}]: bend pads inside its conv and pool layers only",
                                   fmt::join(pad_values, ", ")));
      x = n.output(0);
      ++i;
      continue;
    }
    if (op == "Identity" || op == "Dropout") {
      x = only_output(n);
      ++i;
      continue;
    }
    if (op == "Gemm") {
      if (int_attribute(n, "transA", 0) != 0)
        unsupported(n, "attribute transA=1: bend's dense layers take [batch, features]");
      if (sample.size() != 1)
        unsupported(n, fmt::format("its input is {} per sample, not flat", nn::sample_shape_string(sample)));
      const Constant& b = need_constant(n, 1, "input B");
      if (b.dims.size() != 2) unsupported(n, fmt::format("input B has {} dimensions, not 2", b.dims.size()));
      const bool trans_b = int_attribute(n, "transB", 0) != 0;
      const int64_t in = trans_b ? b.dims[1] : b.dims[0], out = trans_b ? b.dims[0] : b.dims[1];
      if (in != sample[0])
        unsupported(
            n, fmt::format("input B is {}x{}, its input has {} features", b.dims[0], b.dims[1], sample[0]));
      const float alpha = float_attribute(n, "alpha", 1.0f), beta = float_attribute(n, "beta", 1.0f);
      Tensor w = trans_b ? to_tensor(b, {out, in}) : transposed(b);
      if (alpha != 1.0f)
        for (float& v : w.span()) v *= alpha;
      std::vector<float> bias(static_cast<std::size_t>(out), 0.0f);
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const auto values = bias_values(need_constant(n, 2, "input C"), out);
        if (!values)
          unsupported(n, fmt::format("input C has dims [{}]: bend's bias is one value per output",
                                     fmt::join(constant(n.input(2))->dims, ", ")));
        bias = *values;
        for (float& v : bias) v *= beta;
      }
      add(nn::find_layer_kind("dense").layer({{"features", out}}),
          {{"weight", w}, {"bias", Tensor::from(std::span<const float>(bias), {out})}}, n);
      x = n.output(0);
      ++i;
      continue;
    }
    if (op == "MatMul") {
      if (n.input(0) != x) unsupported(n, "the layer's input is its second operand");
      if (sample.size() != 1)
        unsupported(n, fmt::format("its input is {} per sample, not flat", nn::sample_shape_string(sample)));
      const Constant& b = need_constant(n, 1, "input B");
      if (b.dims.size() != 2 || b.dims[0] != sample[0])
        unsupported(n, fmt::format("input B has dims [{}] for {} input features", fmt::join(b.dims, ", "),
                                   sample[0]));
      const int64_t out = b.dims[1];
      std::vector<float> bias(static_cast<std::size_t>(out), 0.0f);
      x = n.output(0);
      ++i;
      // MatMul then Add(bias): one Linear.
      if (i < nodes_.size() && nodes_[i]->op_type() == "Add" && nodes_[i]->input_size() == 2 &&
          nodes_[i]->output_size() >= 1 && uses_[x] == 1) {
        const pb::NodeProto& a = *nodes_[i];
        const int other = a.input(0) == x ? 1 : 0;
        const Constant* c = a.input_size() == 2 ? constant(a.input(other)) : nullptr;
        if (c && !c->is_int && c->dims.size() <= 2 && bias_values(*c, out) &&
            (c->dims.empty() || c->dims.back() == out || c->numel() == 1)) {
          bias = *bias_values(*c, out);
          x = a.output(0);
          ++i;
        }
      }
      add(nn::find_layer_kind("dense").layer({{"features", out}}),
          {{"weight", transposed(b)}, {"bias", Tensor::from(std::span<const float>(bias), {out})}}, n);
      continue;
    }
    if (op == "Conv") {
      const Constant& w = need_constant(n, 1, "weight W");
      if (w.dims.size() != 4)
        unsupported(n, fmt::format("weight W has {} dimensions: bend's Conv2d is 2-d", w.dims.size()));
      if (const int64_t group = int_attribute(n, "group", 1); group != 1)
        unsupported(n, fmt::format("attribute group={}: bend's Conv2d has groups=1", group));
      const auto win = image_attributes(n, w.dims[2], w.dims[3], true);
      if (w.dims[1] != sample[0])
        unsupported(n, fmt::format("weight W takes {} channels, its input has {}", w.dims[1], sample[0]));
      const int64_t out = w.dims[0];
      std::vector<float> bias(static_cast<std::size_t>(out), 0.0f);
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const Constant& b = need_constant(n, 2, "bias B");
        if (b.numel() != out)
          unsupported(n, fmt::format("bias B has {} values for {} output channels", b.numel(), out));
        bias = b.values;
      }
      add(nn::find_layer_kind("conv").layer({{"out", out},
                                             {"kernel", win.kernel},
                                             {"stride", win.stride},
                                             {"padding", win.pad},
                                             {"dilation", win.dilation}}),
          {{"weight", to_tensor(w, {w.dims[0], w.dims[1], w.dims[2], w.dims[3]})},
           {"bias", Tensor::from(std::span<const float>(bias), {out})}},
          n);
      x = n.output(0);
      ++i;
      continue;
    }
    if (op == "MaxPool" || op == "AveragePool") {
      const bool max = op == "MaxPool";
      const std::vector<int64_t> kernel = ints_attribute(n, "kernel_shape");
      if (kernel.size() != 2)
        unsupported(
            n, fmt::format("attribute kernel_shape=[{}]: bend's pools are 2-d", fmt::join(kernel, ", ")));
      const auto win = image_attributes(n, kernel[0], kernel[1], max);
      if (max && int_attribute(n, "storage_order", 0) != 0 && n.output_size() > 1)
        unsupported(n, "attribute storage_order=1 with the Indices output: bend returns no indices");
      const bool ceil = int_attribute(n, "ceil_mode", 0) != 0;
      if (!max && win.pad > 0 && int_attribute(n, "count_include_pad", 0) == 0)
        unsupported(n, "attribute count_include_pad=0 with padding: bend's AvgPool2d counts the padding");
      if (2 * win.pad > win.kernel)
        unsupported(
            n, fmt::format(
                   "attribute pads={}: more than half the kernel {}, which bend's (PyTorch's) pools refuse",
                   win.pad, win.kernel));
      for (int64_t size : {sample[1], sample[2]}) {
        const int64_t span = size + 2 * win.pad - win.dilation * (win.kernel - 1) - 1;
        if (span < 0)
          unsupported(n, fmt::format("the window {} does not fit the {} input", win.kernel,
                                     nn::sample_shape_string(sample)));
        const int64_t onnx = (ceil ? (span + win.stride - 1) / win.stride : span / win.stride) + 1;
        const int64_t floor_size = span / win.stride + 1;
        const int64_t bend_size =
            bend::detail::pool_output_size(size, win.kernel, win.stride, win.pad, win.dilation, ceil);
        if (onnx != bend_size || (ceil && !max && onnx != floor_size))
          unsupported(n,
                      "attribute ceil_mode=1: here the last window hangs over the input, which bend (as "
                      "PyTorch) computes differently");
      }
      nn::LayerArgs args{
          {"kernel", win.kernel}, {"stride", win.stride}, {"padding", win.pad}, {"ceil_mode", int64_t{ceil}}};
      if (max) args["dilation"] = win.dilation;
      add(nn::find_layer_kind(max ? "maxpool" : "avgpool").layer(std::move(args)), {}, n);
      x = only_output(n);
      ++i;
      continue;
    }
    if (op == "GlobalAveragePool") {
      if (sample.size() != 3 || sample[1] != sample[2])
        unsupported(n, fmt::format("its input is {} per sample, not a square image",
                                   nn::sample_shape_string(sample)));
      add(nn::find_layer_kind("avgpool").layer({{"kernel", sample[1]}}), {}, n);
      x = n.output(0);
      ++i;
      continue;
    }
    if (op == "Flatten" || op == "Reshape") {
      const int64_t rank = static_cast<int64_t>(sample.size()) + 1;
      bool flatten = false;
      if (op == "Flatten") {
        const int64_t axis = int_attribute(n, "axis", 1);
        if (axis != 1 && axis != 1 - rank)
          unsupported(n, fmt::format("attribute axis={}: bend flattens from dimension 1", axis));
        flatten = true;
      } else {
        const Constant* s = n.input_size() > 1 ? constant(n.input(1)) : nullptr;
        int64_t features = 1;
        for (int64_t d : sample) features *= d;
        // [0 or -1 or the exported batch, -1 or the sample's size]: each sample flattened
        flatten = s && s->is_int && s->ints.size() == 2 && s->ints[0] >= -1 &&
                  (s->ints[1] == -1 || s->ints[1] == features) && !(s->ints[0] == -1 && s->ints[1] == -1) &&
                  !(s->ints[0] == 0 && int_attribute(n, "allowzero", 0) != 0);
        if (!flatten) unsupported(n, "a reshape other than flattening each sample (shape [batch, -1])");
      }
      if (sample.size() > 1) add(nn::find_layer_kind("flatten").layer({}), {}, n);
      x = n.output(0);
      ++i;
      continue;
    }
    if (op == "BatchNormalization") {
      if (int_attribute(n, "spatial", 1) != 1)
        unsupported(n, "attribute spatial=0: bend's BatchNorm has one statistic per channel");
      if (int_attribute(n, "training_mode", 0) != 0)
        unsupported(n, "attribute training_mode=1: bend imports models for inference");
      if (const float eps = float_attribute(n, "epsilon", 1e-5f); eps != 1e-5f)
        unsupported(n, fmt::format("attribute epsilon={}: bend's BatchNorm has eps 1e-5", eps));
      if (sample.size() != 1 && sample.size() != 3)
        unsupported(n, fmt::format("its input is {} per sample: bend's BatchNorm1d/2d take [C] or [C, H, W]",
                                   nn::sample_shape_string(sample)));
      nn::NamedTensors state;
      const char* names[] = {"weight", "bias", "running_mean", "running_var"};
      const char* what[] = {"scale", "bias B", "input_mean", "input_var"};
      for (int k = 0; k < 4; ++k) {
        const Constant& c = need_constant(n, k + 1, what[k]);
        if (c.numel() != sample[0])
          unsupported(n, fmt::format("{} has {} values for {} channels", what[k], c.numel(), sample[0]));
        state.emplace_back(names[k], to_tensor(c, {sample[0]}));
      }
      state.emplace_back("num_batches_tracked", Tensor::zeros(Shape{}));
      add(nn::find_layer_kind("batchnorm").layer({}), std::move(state), n);
      x = only_output(n);
      ++i;
      continue;
    }
    if (op == "LayerNormalization") {
      const int64_t rank = static_cast<int64_t>(sample.size()) + 1;
      const int64_t axis = int_attribute(n, "axis", -1);
      if (axis != 1 && axis != 1 - rank)
        unsupported(
            n, fmt::format("attribute axis={} on a {} sample: bend's LayerNorm normalizes the whole sample",
                           axis, nn::sample_shape_string(sample)));
      if (const float eps = float_attribute(n, "epsilon", 1e-5f); eps != 1e-5f)
        unsupported(n, fmt::format("attribute epsilon={}: bend's LayerNorm has eps 1e-5", eps));
      int64_t features = 1;
      for (int64_t d : sample) features *= d;
      const Constant& scale = need_constant(n, 1, "scale");
      if (scale.numel() != features)
        unsupported(n, fmt::format("scale has {} values for a {} sample", scale.numel(),
                                   nn::sample_shape_string(sample)));
      std::vector<float> bias(static_cast<std::size_t>(features), 0.0f);
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const Constant& b = need_constant(n, 2, "bias B");
        if (b.numel() != features)
          unsupported(n, fmt::format("bias B has {} values for a {} sample", b.numel(),
                                     nn::sample_shape_string(sample)));
        bias = b.values;
      }
      const Shape s{std::span<const int64_t>(sample)};
      add(nn::find_layer_kind("layernorm").layer({}),
          {{"weight", to_tensor(scale, s)}, {"bias", Tensor::from(std::span<const float>(bias), s)}}, n);
      x = only_output(n);
      ++i;
      continue;
    }
    if (op == "PRelu") {
      const Constant& slope = need_constant(n, 1, "slope");
      if (slope.numel() != 1)
        unsupported(n, fmt::format("slope has {} values: bend's PReLU has one", slope.numel()));
      add(nn::find_layer_kind("act").layer({{"name", std::string("prelu")}}),
          {{"weight", to_tensor(slope, {1})}}, n);
      x = n.output(0);
      ++i;
      continue;
    }
    if (detail::is_pointwise(op)) {
      // The longest run of pointwise nodes reading only x, each other and scalar constants.
      std::set<std::string> inside{x};
      std::size_t end = i;
      std::vector<const pb::NodeProto*> run;
      while (end < nodes_.size() && detail::is_pointwise(nodes_[end]->op_type())) {
        const pb::NodeProto& m = *nodes_[end];
        bool reads_inside = false, fits = m.output_size() == 1;
        for (const std::string& in : m.input()) {
          if (in.empty()) continue;
          const Constant* c = constant(in);
          if (inside.contains(in))
            reads_inside = true;
          else if (!(c && c->numel() == 1))
            fits = false;
        }
        if (!fits || !reads_inside) break;
        inside.insert(m.output(0));
        run.push_back(&m);
        ++end;
      }
      if (run.empty())
        unsupported(n, fmt::format("its other inputs are not scalar constants ({})", attributes_text(n)));
      // The run ends at the last node whose output is used after it; values inside are used only inside.
      const std::string y = run.back()->output(0);
      for (const pb::NodeProto* m : run)
        if (m->output(0) != y) {
          int inner = 0;
          for (const pb::NodeProto* k : run)
            for (const std::string& in : k->input()) inner += in == m->output(0);
          if (inner != uses_[m->output(0)])
            unsupported(*m, "its output is used outside the pointwise run it belongs to");
        }
      auto scalar_of = [&](const std::string& name) -> std::optional<double> {
        const Constant* c = constant(name);
        if (!c) return std::nullopt;
        return c->is_int ? static_cast<double>(c->ints[0]) : static_cast<double>(c->values[0]);
      };
      std::string text;
      for (const pb::NodeProto* m : run) {
        const std::string attrs = attributes_text(*m);
        text += fmt::format("{}'{}' ({}{}{})", text.empty() ? "" : ", ", m->name(), m->op_type(),
                            attrs.empty() ? "" : " ", attrs);
      }
      const detail::PointwiseMatch match = detail::match_pointwise(run, x, scalar_of);
      if (match.error) unsupported(n, *match.error);
      if (match.affine && first && !match.activation) {
        if (!(match.scale > 0)) fail(fmt::format("node {}: a standardization that flips the sign", text));
        chain.normalization = Normalization{static_cast<float>(-match.shift / match.scale),
                                            static_cast<float>(1.0 / match.scale)};
      } else if (match.activation) {
        add(nn::find_layer_kind("act").layer({{"name", std::string(match.activation->name)}}), {}, n);
      } else {
        fail(fmt::format("node {}: computes no activation bend has", text));
      }
      x = y;
      i = end;
      continue;
    }
    unsupported(n, fmt::format("bend has no layer for this op{}{}", n.attribute_size() ? ", attributes " : "",
                               attributes_text(n)));
  }
  if (x != output) fail(fmt::format("the chain ends at '{}', not at the graph output '{}'", x, output));
  if (chain.layers.empty() && !chain.normalization) fail("the graph computes nothing bend reads");
  return chain;
}

}  // namespace

Chain read_chain(std::span<const std::uint8_t> bytes, std::string_view name_for_errors) {
  pb::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw ValueError(fmt::format("{}: not an ONNX model (corrupt or truncated protobuf)", name_for_errors));
  return Reader(model, name_for_errors).read();
}

nn::Sequential build_chain(const Chain& chain) {
  nn::Sequential model;
  Rng rng(0);
  for (std::size_t i = 0; i < chain.layers.size(); ++i) {
    const ChainLayer& l = chain.layers[i];
    nn::LayerBuild context{nn::init::Scheme::Auto, nullptr, rng};
    std::shared_ptr<nn::Module> m = nn::find_layer_kind(l.layer.kind).build(l.layer, l.input, context);
    if (!l.state.empty() || !m->state_dict().empty()) m->load_state_dict(l.state);
    model.push_back(m);
  }
  model.eval();
  return model;
}

}  // namespace bend::onnx
