// bend model -> ONNX graph (opset 17): one function per layer kind, activations as ONNX ops or their exact
// composition of ONNX ops.
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <variant>

#include <fmt/format.h>
#include <onnx/checker.h>

#include "../ops/window2d.hpp"  // detail::pool_output_size: bend's (PyTorch's) pool output size
#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/onnx/onnx.hpp"
#include "bend/train/checkpoint.hpp"
#include "bend/train/gpt_source.hpp"
#include "graph_builder.hpp"

#ifndef BEND_ONNX_PRODUCER_VERSION
#define BEND_ONNX_PRODUCER_VERSION "0.1.0"
#endif

namespace bend::onnx {
namespace {

using detail::GraphBuilder;
using detail::set_attribute;
using std::int64_t;
namespace pb = ::onnx;

struct Exporter {
  GraphBuilder& g;
  std::map<std::string, Tensor> state;
  std::set<std::string> written;  // the initializers already in the graph (a tied weight is used twice)

  const Tensor& tensor(const std::string& name) const {
    const auto it = state.find(name);
    if (it == state.end()) throw ValueError(fmt::format("the model has no tensor '{}'", name));
    return it->second;
  }
  std::vector<int64_t> dims(const Tensor& t) const {
    const auto d = t.shape().dims();
    return {d.begin(), d.end()};
  }
  // The state-dict tensor `name` as an initializer of the same name and shape.
  std::string weight(const std::string& name) {
    if (!written.insert(name).second) return name;
    const Tensor& t = tensor(name);
    return g.initializer(name, t.span(), dims(t));
  }
  // A 2-d weight [out, in] transposed to [in, out], for MatMul (name + "_transposed").
  std::string weight_transposed(const std::string& name) {
    if (!written.insert(name + "_transposed").second) return name + "_transposed";
    const Tensor t = tensor(name).t();
    return g.initializer(name + "_transposed", t.span(), dims(t));
  }

  bool has(const std::string& name) const { return state.contains(name); }

  // x @ W.T + b on the last dimension of any rank (MatMul then Add), as torch.nn.Linear; without the Add
  // when the model has no prefix + "bias" (nanoGPT's bias=False).
  std::string linear(const std::string& scope, const std::string& prefix, const std::string& x) {
    const std::string y = g.op(scope, "MatMul", {x, weight_transposed(prefix + "weight")});
    return has(prefix + "bias") ? g.op(scope, "Add", {y, weight(prefix + "bias")}) : y;
  }
  // LayerNorm over the last dimension (eps 1e-5), with name + ".bias" when the model has one.
  std::string layer_norm(const std::string& scope, const std::string& name, const std::string& x) {
    pb::NodeProto& node =
        has(name + ".bias")
            ? g.node(scope, "LayerNormalization", {x, weight(name + ".weight"), weight(name + ".bias")})
            : g.node(scope, "LayerNormalization", {x, weight(name + ".weight")});
    set_attribute(node, "axis", int64_t{-1});
    set_attribute(node, "epsilon", 1e-5f);
    return node.output(0);
  }

  std::string activation(const std::string& scope, const ActivationInfo& a, const std::string& x,
                         const std::string& prefix);
  // A feed-forward's activation of its first linear's output `hidden`: `act` from the table, or "swiglu"
  // (hidden holds [gate | up], ff wide each: silu(gate) * up). A prelu's learned slope is
  // act_prefix + "weight" (empty act_prefix: the table's fixed slope).
  std::string feed_forward_activation(const std::string& scope, const std::string& prefix,
                                      const std::string& act, int64_t ff, const std::string& hidden,
                                      const std::string& act_prefix);
  std::string layer(const nn::LayerSpec& l, const nn::SampleShape& in, const std::string& key,
                    const std::string& x);
  // Multi-head attention of the packed projection qkv [N, T, 3d] (q, k, v side by side), before the output
  // projection: [N, T, d]. `mask` (empty: none) is an additive [T, T] float mask on the scores.
  std::string attention(const std::string& scope, const std::string& prefix, int64_t d, int64_t heads,
                        const std::string& qkv, const std::string& mask);
  std::string encoder_layer(const std::string& scope, const std::string& prefix, int64_t d, int64_t heads,
                            int64_t ff, const std::string& act, const std::string& x);
  // nanoGPT's forward from token ids `idx` [N, T] (int64) to logits [N, T, vocab] (log-probabilities with
  // the adaptive head).
  std::string gpt(const nn::GPTConfig& c, const std::string& idx);
  std::string adaptive_head(const nn::GPTConfig& c, const std::string& x);
};

std::string Exporter::activation(const std::string& s, const ActivationInfo& a, const std::string& x,
                                 const std::string& prefix) {
  const std::string_view n = a.name;
  const PointwiseParams& p = a.defaults;
  auto unary = [&](std::string_view op) { return g.op(s, op, {x}); };
  auto with_alpha = [&](std::string_view op, float alpha) {
    pb::NodeProto& node = g.node(s, op, {x});
    set_attribute(node, "alpha", alpha);
    return node.output(0);
  };
  auto clip = [&](float lo, float hi) { return g.op(s, "Clip", {x, g.scalar(lo), g.scalar(hi)}); };
  auto shrink = [&](float lambd, float bias) {
    pb::NodeProto& node = g.node(s, "Shrink", {x});
    set_attribute(node, "lambd", lambd);
    set_attribute(node, "bias", bias);
    return node.output(0);
  };
  // PyTorch's softplus: x where beta x > threshold, else log(1 + exp(beta x)) / beta.
  auto softplus = [&](const std::string& v, float beta, float threshold) {
    const std::string bx = beta == 1.0f ? v : g.op(s, "Mul", {v, g.scalar(beta)});
    std::string soft = g.op(s, "Softplus", {bx});
    if (beta != 1.0f) soft = g.op(s, "Div", {soft, g.scalar(beta)});
    const std::string above = g.op(s, "Greater", {bx, g.scalar(threshold)});
    return g.op(s, "Where", {above, v, soft});
  };
  if (n == "sigmoid") return unary("Sigmoid");
  if (n == "tanh") return unary("Tanh");
  if (n == "relu") return unary("Relu");
  if (n == "leaky_relu") return with_alpha("LeakyRelu", p.a);
  if (n == "elu") return with_alpha("Elu", p.a);
  if (n == "celu") return with_alpha("Celu", p.a);
  if (n == "softsign") return unary("Softsign");
  if (n == "hardswish") return unary("HardSwish");
  if (n == "relu6") return clip(0.0f, 6.0f);
  if (n == "hardtanh") return clip(p.a, p.b);
  if (n == "hardshrink") return shrink(p.a, 0.0f);
  if (n == "softshrink") return shrink(p.a, p.a);
  // A prelu layer has its learned slope (prefix + "weight"); the GPT's MLP (no prefix) has the table's fixed
  // slope, as bend's activate() does.
  if (n == "prelu")
    return prefix.empty() ? with_alpha("LeakyRelu", p.a) : g.op(s, "PRelu", {x, weight(prefix + "weight")});
  if (n == "selu") {
    pb::NodeProto& node = g.node(s, "Selu", {x});
    set_attribute(node, "alpha", 1.6732632423543772f);
    set_attribute(node, "gamma", 1.0507009873554805f);
    return node.output(0);
  }
  if (n == "hardsigmoid") {  // relu6(x + 3) / 6 = max(0, min(1, x / 6 + 1 / 2))
    pb::NodeProto& node = g.node(s, "HardSigmoid", {x});
    set_attribute(node, "alpha", 1.0f / 6.0f);
    set_attribute(node, "beta", 0.5f);
    return node.output(0);
  }
  if (n == "gelu") {  // x / 2 (1 + erf(x / sqrt 2))
    const std::string e =
        g.op(s, "Erf", {g.op(s, "Mul", {x, g.scalar(std::numbers::sqrt2_v<float> / 2.0f)})});
    const std::string half = g.op(s, "Mul", {x, g.scalar(0.5f)});
    return g.op(s, "Mul", {half, g.op(s, "Add", {e, g.scalar(1.0f)})});
  }
  if (n == "gelu_tanh") {  // x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    const std::string cube = g.op(s, "Mul", {g.op(s, "Mul", {x, x}), x});
    const std::string inner = g.op(s, "Add", {x, g.op(s, "Mul", {cube, g.scalar(0.044715f)})});
    const float k = std::sqrt(2.0f / std::numbers::pi_v<float>);
    const std::string t = g.op(s, "Tanh", {g.op(s, "Mul", {inner, g.scalar(k)})});
    const std::string half = g.op(s, "Mul", {x, g.scalar(0.5f)});
    return g.op(s, "Mul", {half, g.op(s, "Add", {t, g.scalar(1.0f)})});
  }
  if (n == "silu") return g.op(s, "Mul", {x, unary("Sigmoid")});
  if (n == "mish") return g.op(s, "Mul", {x, g.op(s, "Tanh", {softplus(x, 1.0f, 20.0f)})});
  if (n == "softplus") return softplus(x, p.a, p.b);
  if (n == "tanhshrink") return g.op(s, "Sub", {x, unary("Tanh")});
  if (n == "logsigmoid") {  // min(x, 0) - log(1 + exp(-|x|))
    const std::string e = g.op(s, "Exp", {g.op(s, "Neg", {unary("Abs")})});
    const std::string l = g.op(s, "Log", {g.op(s, "Add", {e, g.scalar(1.0f)})});
    return g.op(s, "Sub", {g.op(s, "Min", {x, g.scalar(0.0f)}), l});
  }
  if (n == "threshold") {
    const std::string above = g.op(s, "Greater", {x, g.scalar(p.a)});
    return g.op(s, "Where", {above, x, g.scalar(p.b)});
  }
  throw ValueError(fmt::format("activation '{}' has no ONNX form in bend's exporter", n));
}

std::string Exporter::attention(const std::string& s, const std::string& prefix, int64_t d, int64_t heads,
                                const std::string& qkv, const std::string& mask) {
  const int64_t dh = d / heads;
  // q, k, v = split(qkv): [N, T, d] each
  pb::NodeProto& split = g.node(s, "Split", {qkv, g.int64_initializer(prefix + "split_sizes", {d, d, d})}, 3);
  set_attribute(split, "axis", int64_t{2});
  const std::string q = split.output(0), k = split.output(1), v = split.output(2);
  const std::string heads_shape = g.int64_initializer(prefix + "heads_shape", {0, 0, heads, dh});
  auto to_heads = [&](const std::string& t, std::vector<int64_t> perm) {
    pb::NodeProto& node = g.node(s, "Transpose", {g.op(s, "Reshape", {t, heads_shape})});
    set_attribute(node, "perm", perm);
    return node.output(0);
  };
  const std::string qh = to_heads(q, {0, 2, 1, 3});  // [N, h, T, dh]
  const std::string kt = to_heads(k, {0, 2, 3, 1});  // [N, h, dh, T]
  const std::string vh = to_heads(v, {0, 2, 1, 3});  // [N, h, T, dh]
  std::string scores =
      g.op(s, "Mul", {g.op(s, "MatMul", {qh, kt}), g.scalar(1.0f / std::sqrt(static_cast<float>(dh)))});
  if (!mask.empty()) scores = g.op(s, "Add", {scores, mask});  // [N, h, T, T] + [T, T]
  pb::NodeProto& softmax = g.node(s, "Softmax", {scores});
  set_attribute(softmax, "axis", int64_t{-1});
  pb::NodeProto& merged = g.node(s, "Transpose", {g.op(s, "MatMul", {softmax.output(0), vh})});
  set_attribute(merged, "perm", std::vector<int64_t>{0, 2, 1, 3});
  return g.op(s, "Reshape", {merged.output(0), g.int64_initializer(prefix + "model_shape", {0, 0, d})});
}

std::string Exporter::feed_forward_activation(const std::string& s, const std::string& prefix,
                                              const std::string& act, int64_t ff, const std::string& hidden,
                                              const std::string& act_prefix) {
  if (act != "swiglu") return activation(s, bend::activation(act), hidden, act_prefix);
  // silu(first ff) * (second ff)
  pb::NodeProto& split =
      g.node(s, "Split", {hidden, g.int64_initializer(prefix + "gate_sizes", {ff, ff})}, 2);
  set_attribute(split, "axis", int64_t{-1});
  const std::string gate = split.output(0), up = split.output(1);
  return g.op(s, "Mul", {activation(s, bend::activation("silu"), gate, ""), up});
}

std::string Exporter::encoder_layer(const std::string& s, const std::string& prefix, int64_t d, int64_t heads,
                                    int64_t ff, const std::string& act, const std::string& x) {
  // Pre-norm (norm_first): x + SA(LN1(x)), then x + FF(LN2(x)).
  const std::string a = prefix + "self_attn.";
  const std::string qkv =
      g.op(s, "Add",
           {g.op(s, "MatMul", {layer_norm(s, prefix + "norm1", x), weight_transposed(a + "in_proj_weight")}),
            weight(a + "in_proj_bias")});
  const std::string attended = linear(s, a + "out_proj.", attention(s, a, d, heads, qkv, ""));
  const std::string x1 = g.op(s, "Add", {x, attended});
  const std::string hidden = linear(s, prefix + "linear1.", layer_norm(s, prefix + "norm2", x1));
  const std::string activated = feed_forward_activation(s, prefix, act, ff, hidden, prefix + "activation.");
  return g.op(s, "Add", {x1, linear(s, prefix + "linear2.", activated)});
}

std::string Exporter::gpt(const nn::GPTConfig& c, const std::string& idx) {
  const std::string s = "transformer";
  // T (a scalar) from idx's shape, and positions = Range(0, T) [T]
  pb::NodeProto& time = g.node(s, "Shape", {idx});
  set_attribute(time, "start", int64_t{1});
  set_attribute(time, "end", int64_t{2});
  const std::string t = g.op(s, "Squeeze", {time.output(0)});
  const std::string positions =
      g.op(s, "Range", {g.int64_scalar("range_start", 0), t, g.int64_scalar("range_step", 1)});
  // tok [N, T, C] + pos [T, C]; dropout is the identity in inference
  const std::string tok = g.op(s, "Gather", {weight("transformer.wte.weight"), idx});
  const std::string pos = g.op(s, "Gather", {weight("transformer.wpe.weight"), positions});
  std::string x = g.op(s, "Add", {tok, pos});
  // The causal mask [T, T]: 0 where key j <= query i, -inf above the diagonal.
  const std::string rows = g.op(s, "Unsqueeze", {positions, g.int64_initializer("mask_rows_axis", {1})});
  const std::string cols = g.op(s, "Unsqueeze", {positions, g.int64_initializer("mask_cols_axis", {0})});
  const std::string future = g.op(s, "Greater", {cols, rows});
  const std::string mask =
      g.op(s, "Where", {future, g.scalar(-std::numeric_limits<float>::infinity()), g.scalar(0.0f)});
  const int64_t ff = 4 * c.n_embd;
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = fmt::format("transformer.h.{}.", i), b = fmt::format("transformer.h.{}", i);
    // x + c_proj(attention(c_attn(ln_1(x)))), then x + c_proj(act(c_fc(ln_2(x))))
    const std::string qkv = linear(b, p + "attn.c_attn.", layer_norm(b, p + "ln_1", x));
    const std::string heads = attention(b, p + "attn.", c.n_embd, c.n_head, qkv, mask);
    x = g.op(b, "Add", {x, linear(b, p + "attn.c_proj.", heads)});
    const std::string hidden = linear(b, p + "mlp.c_fc.", layer_norm(b, p + "ln_2", x));
    const std::string activated = feed_forward_activation(b, p + "mlp.", c.activation, ff, hidden, "");
    x = g.op(b, "Add", {x, linear(b, p + "mlp.c_proj.", activated)});
  }
  x = layer_norm("transformer.ln_f", "transformer.ln_f", x);
  if (c.head == "adaptive") return adaptive_head(c, x);
  // lm_head tied to wte: x @ wte.T, transposed in the graph so that the weight is stored once
  pb::NodeProto& transposed = g.node("lm_head", "Transpose", {weight("transformer.wte.weight")});
  set_attribute(transposed, "perm", std::vector<int64_t>{1, 0});
  return g.op("lm_head", "MatMul", {x, transposed.output(0)});
}

// AdaptiveLogSoftmaxWithLoss.log_prob: [shortlist | cluster 0's classes | ...], the head's log-softmax for
// the shortlist, each cluster's tail log-softmax shifted by the head's entry for the cluster.
std::string Exporter::adaptive_head(const nn::GPTConfig& c, const std::string& x) {
  const std::string s = "lm_head";
  pb::NodeProto& head =
      g.node(s, "LogSoftmax", {g.op(s, "MatMul", {x, weight_transposed("lm_head.head.weight")})});
  set_attribute(head, "axis", int64_t{-1});
  const std::string last_axis = g.int64_initializer("lm_head.slice_axis", {-1});
  auto head_slice = [&](const std::string& name, int64_t begin, int64_t end) {
    return g.op(s, "Slice",
                {head.output(0), g.int64_initializer(name + "_start", {begin}),
                 g.int64_initializer(name + "_end", {end}), last_axis});
  };
  const int64_t shortlist = c.cutoffs.front();
  std::vector<std::string> pieces{head_slice("lm_head.shortlist", 0, shortlist)};
  for (std::size_t i = 0; i < c.cutoffs.size(); ++i) {
    const std::string p = fmt::format("lm_head.tail.{}.", i);
    const int64_t cluster = shortlist + static_cast<int64_t>(i);
    const std::string projected = g.op(s, "MatMul", {x, weight_transposed(p + "0.weight")});
    pb::NodeProto& tail =
        g.node(s, "LogSoftmax", {g.op(s, "MatMul", {projected, weight_transposed(p + "1.weight")})});
    set_attribute(tail, "axis", int64_t{-1});
    pieces.push_back(g.op(
        s, "Add", {tail.output(0), head_slice(fmt::format("lm_head.cluster{}", i), cluster, cluster + 1)}));
  }
  pb::NodeProto& concat = g.node(s, "Concat", pieces);
  set_attribute(concat, "axis", int64_t{-1});
  return concat.output(0);
}

// ONNX's pool output size (floor or ceil of the window count, no rule about the last window).
int64_t onnx_pool_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation, bool ceil) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1;
  return (ceil ? (span + stride - 1) / stride : span / stride) + 1;
}

std::string Exporter::layer(const nn::LayerSpec& l, const nn::SampleShape& in, const std::string& key,
                            const std::string& x) {
  const std::string& kind = l.kind;
  const std::string p = key.empty() ? "" : key + ".";
  const std::string s = key.empty() ? kind : key;
  auto image_window = [&](pb::NodeProto& node, int64_t k, int64_t stride, int64_t pad) {
    set_attribute(node, "kernel_shape", std::vector<int64_t>{k, k});
    set_attribute(node, "strides", std::vector<int64_t>{stride, stride});
    set_attribute(node, "pads", std::vector<int64_t>{pad, pad, pad, pad});
  };
  if (kind == "conv" || kind == "patch") {
    const bool patch = kind == "patch";
    const int64_t k = l.whole(patch ? "patch" : "kernel");
    pb::NodeProto& node = g.node(s, "Conv", {x, weight(p + "weight"), weight(p + "bias")});
    image_window(node, k, patch ? k : l.whole("stride"), patch ? 0 : l.whole("padding"));
    const int64_t dilation = patch ? 1 : l.whole("dilation");
    set_attribute(node, "dilations", std::vector<int64_t>{dilation, dilation});
    if (!patch) return node.output(0);
    // [N, d, H/p, W/p] -> [N, tokens, d]
    const std::string flat = g.op(
        s, "Reshape", {node.output(0), g.int64_initializer(p + "tokens_shape", {0, l.whole("dim"), -1})});
    pb::NodeProto& t = g.node(s, "Transpose", {flat});
    set_attribute(t, "perm", std::vector<int64_t>{0, 2, 1});
    return t.output(0);
  }
  if (kind == "maxpool" || kind == "avgpool") {
    const bool max = kind == "maxpool";
    const int64_t k = l.whole("kernel"), stride = l.whole("stride"), pad = l.whole("padding");
    const int64_t dilation = max ? l.whole("dilation") : 1;
    bool ceil = l.whole("ceil_mode") != 0;
    if (ceil) {
      for (int64_t size : {in[1], in[2]}) {
        const int64_t bend_size = bend::detail::pool_output_size(size, k, stride, pad, dilation, true);
        const bool same_as_floor = bend_size == onnx_pool_size(size, k, stride, pad, dilation, false);
        const bool same_as_ceil = bend_size == onnx_pool_size(size, k, stride, pad, dilation, true);
        if (!same_as_floor && !(max && same_as_ceil))
          throw ValueError(fmt::format(
              "layer {} ({} with ceil_mode on a {} input): its last window hangs over the input, which "
              "ONNX's {} does not compute as PyTorch does",
              s, nn::find_layer_kind(kind).token(l), nn::sample_shape_string(in),
              max ? "MaxPool" : "AveragePool"));
      }
      ceil = bend::detail::pool_output_size(in[1], k, stride, pad, dilation, true) !=
                 onnx_pool_size(in[1], k, stride, pad, dilation, false) ||
             bend::detail::pool_output_size(in[2], k, stride, pad, dilation, true) !=
                 onnx_pool_size(in[2], k, stride, pad, dilation, false);
    }
    pb::NodeProto& node = g.node(s, max ? "MaxPool" : "AveragePool", {x});
    image_window(node, k, stride, pad);
    if (max) set_attribute(node, "dilations", std::vector<int64_t>{dilation, dilation});
    if (!max) set_attribute(node, "count_include_pad", int64_t{1});
    if (ceil) set_attribute(node, "ceil_mode", int64_t{1});
    return node.output(0);
  }
  if (kind == "flatten") {
    pb::NodeProto& node = g.node(s, "Flatten", {x});
    set_attribute(node, "axis", int64_t{1});
    return node.output(0);
  }
  if (kind == "batchnorm") {
    pb::NodeProto& node = g.node(
        s, "BatchNormalization",
        {x, weight(p + "weight"), weight(p + "bias"), weight(p + "running_mean"), weight(p + "running_var")});
    set_attribute(node, "epsilon", 1e-5f);
    return node.output(0);
  }
  if (kind == "layernorm") {
    pb::NodeProto& node = g.node(s, "LayerNormalization", {x, weight(p + "weight"), weight(p + "bias")});
    set_attribute(node, "axis", int64_t{1});
    set_attribute(node, "epsilon", 1e-5f);
    return node.output(0);
  }
  if (kind == "dropout" || kind == "dropout2d" || kind == "alphadropout") return x;  // identity in inference
  if (kind == "dense") {
    pb::NodeProto& node = g.node(s, "Gemm", {x, weight(p + "weight"), weight(p + "bias")});
    set_attribute(node, "transB", int64_t{1});
    return node.output(0);
  }
  if (kind == "swiglu") {
    const std::string gate = linear(s, p + "gate_proj.", x);
    return g.op(s, "Mul", {activation(s, bend::activation("silu"), gate, ""), linear(s, p + "up_proj.", x)});
  }
  if (kind == "act") return activation(s, bend::activation(l.text("name")), x, p);
  if (kind == "cls") {  // concat(cls_token expanded to [N, 1, d], x) on the token axis
    pb::NodeProto& batch = g.node(s, "Shape", {x});
    set_attribute(batch, "end", int64_t{1});
    pb::NodeProto& shape =
        g.node(s, "Concat", {batch.output(0), g.int64_initializer("cls_token_shape", {1, in[1]})});
    set_attribute(shape, "axis", int64_t{0});
    const std::string token = g.op(s, "Expand", {weight("cls_token"), shape.output(0)});
    pb::NodeProto& node = g.node(s, "Concat", {token, x});
    set_attribute(node, "axis", int64_t{1});
    return node.output(0);
  }
  if (kind == "pos") return g.op(s, "Add", {x, weight("pos_embed")});
  if (kind == "tf") {
    std::string y = x;
    const std::string act = l.args.contains("act") ? l.text("act") : "gelu";
    for (int64_t i = 0; i < l.whole("layers"); ++i)
      y = encoder_layer(fmt::format("{}.{}", s, i), fmt::format("{}{}.", p, i), in[1], l.whole("heads"),
                        l.whole("ff"), act, y);
    return y;
  }
  if (kind == "token") {
    pb::NodeProto& node =
        g.node(s, "Gather", {x, g.int64_initializer(p + "token_index", {l.whole("index")})});
    set_attribute(node, "axis", int64_t{1});
    pb::NodeProto& squeeze =
        g.node(s, "Squeeze", {node.output(0), g.int64_initializer(p + "token_axis", {1})});
    return squeeze.output(0);
  }
  throw ValueError(fmt::format("layer {} ({}): ONNX export has no form for it", s, kind));
}

void set_value_info(pb::ValueInfoProto& v, const std::string& name, const std::vector<int64_t>& sample) {
  v.set_name(name);
  pb::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(pb::TensorProto::FLOAT);
  pb::TensorShapeProto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : sample) shape->add_dim()->set_dim_value(d);
}

// A tensor value `name` of element type `type` and shape `dims`: a name for a dynamic dimension ("batch",
// "T"), a number for a fixed one.
void set_tensor_info(pb::ValueInfoProto& v, const std::string& name, pb::TensorProto::DataType type,
                     const std::vector<std::variant<std::string, int64_t>>& dims) {
  v.set_name(name);
  pb::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  pb::TensorShapeProto* shape = t->mutable_shape();
  for (const auto& d : dims) {
    if (const auto* param = std::get_if<std::string>(&d))
      shape->add_dim()->set_dim_param(*param);
    else
      shape->add_dim()->set_dim_value(std::get<int64_t>(d));
  }
}

// A ModelProto with bend's producer, opset kOpset and `metadata` as its metadata_props.
void start_model(pb::ModelProto& model, const nn::Metadata& metadata) {
  model.set_ir_version(8);
  model.set_producer_name("bend");
  model.set_producer_version(BEND_ONNX_PRODUCER_VERSION);
  pb::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  for (const auto& [key, value] : metadata) {
    pb::StringStringEntryProto* entry = model.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  model.mutable_graph()->set_name("bend");
}

// onnx::checker's verdict, then the bytes.
std::string checked_bytes(const pb::ModelProto& model) {
  try {
    pb::checker::check_model(model);
  } catch (const std::exception& error) {
    throw ValueError(fmt::format("the exported graph fails onnx::checker: {}", error.what()));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw ValueError("the ONNX model does not serialize (over 2 GiB?)");
  return bytes;
}

// Where both exports start: a model begun by start_model, its graph's builder, and an Exporter over
// `state`. The members refer to each other: not copied or moved.
struct ExportInProgress {
  pb::ModelProto model;
  GraphBuilder builder;
  Exporter exporter;

  ExportInProgress(const nn::NamedTensors& state, const nn::Metadata& metadata)
      : builder(*model.mutable_graph()), exporter{builder, {}, {}} {
    start_model(model, metadata);
    for (const auto& [name, t] : state) exporter.state.emplace(name, t);
  }
  ExportInProgress(const ExportInProgress&) = delete;
  ExportInProgress& operator=(const ExportInProgress&) = delete;

  pb::GraphProto& graph() { return *model.mutable_graph(); }
};

}  // namespace

std::string export_model(const nn::ModelSpec& spec, const nn::NamedTensors& state,
                         const nn::Metadata& metadata, const std::optional<Normalization>& normalization) {
  ExportInProgress exporting(state, metadata);
  pb::GraphProto& graph = exporting.graph();
  GraphBuilder& builder = exporting.builder;
  Exporter& e = exporting.exporter;

  std::string x = "input";
  set_value_info(*graph.add_input(), x, spec.input);
  if (normalization) {
    x = builder.op("standardize", "Sub", {x, builder.scalar(normalization->mean)});
    x = builder.op("standardize", "Div", {x, builder.scalar(normalization->std)});
  }
  nn::SampleShape shape = spec.input;
  const std::vector<nn::LayerShape> shapes = spec.infer_shapes();
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const nn::LayerSpec& l = spec.layers[i];
    x = e.layer(l, shape, nn::layer_key(l, i), x);
    shape = shapes[i].output;
  }
  if (shape.size() != 1)
    throw ValueError(fmt::format("the model's output is {} per sample, not a vector of classes",
                                 nn::sample_shape_string(shape)));
  pb::NodeProto& logits = *graph.add_node();
  logits.set_name("/output/Identity");
  logits.set_op_type("Identity");
  logits.add_input(x);
  logits.add_output("logits");
  pb::NodeProto& softmax = builder.node("output", "Softmax", {"logits"});
  set_attribute(softmax, "axis", int64_t{1});
  softmax.set_output(0, "probabilities");
  set_value_info(*graph.add_output(), "logits", shape);
  set_value_info(*graph.add_output(), "probabilities", shape);
  return checked_bytes(exporting.model);
}

std::string export_gpt(const nn::GPTConfig& config, const nn::NamedTensors& state,
                       const nn::Metadata& metadata) {
  config.validate();
  ExportInProgress exporting(state, metadata);
  pb::GraphProto& graph = exporting.graph();
  Exporter& e = exporting.exporter;
  const auto expect = [&](const std::string& name, std::vector<int64_t> dims) {
    if (e.dims(e.tensor(name)) != dims)
      throw ValueError(fmt::format("the GPT's {} is {}, not [{}] as its config says", name,
                                   e.tensor(name).shape().str(), fmt::join(dims, ", ")));
  };
  expect("transformer.wte.weight", {config.vocab_size, config.n_embd});
  expect("transformer.wpe.weight", {config.block_size, config.n_embd});

  set_tensor_info(*graph.add_input(), "idx", pb::TensorProto::INT64, {"batch", "T"});
  pb::NodeProto& logits = exporting.builder.node("output", "Identity", {e.gpt(config, "idx")});
  logits.set_output(0, "logits");
  set_tensor_info(*graph.add_output(), "logits", pb::TensorProto::FLOAT, {"batch", "T", config.vocab_size});
  return checked_bytes(exporting.model);
}

void export_file(const std::filesystem::path& model_path, const std::filesystem::path& onnx_path) {
  nn::Metadata file_metadata;
  nn::NamedTensors tensors = nn::load_tensors(model_path, &file_metadata);
  if (train::is_gpt(file_metadata)) {
    const nn::GPTConfig config = train::gpt_config_from(file_metadata, model_path);
    // A checkpoint's model tensors are "model.<name>".
    nn::NamedTensors model_tensors;
    for (auto& [name, t] : tensors)
      if (name.starts_with("model.")) model_tensors.emplace_back(name.substr(6), t);
    if (model_tensors.empty()) model_tensors = std::move(tensors);
    // What a reader needs to run it and read its ids back as text: the config and the vocabulary.
    nn::Metadata metadata;
    for (const auto& [key, value] : file_metadata)
      if (key == "bend.model" || key == "bend.act" || key.starts_with("bend.gpt.") ||
          key.starts_with("bend.vocab"))
        metadata[key] = value;
    write_file_atomically(onnx_path, export_gpt(config, model_tensors, metadata));
    return;
  }
  nn::LoadedModel loaded = nn::load_model(model_path);
  const std::optional<Normalization> normalization = train::read_normalization(loaded.metadata, model_path);
  nn::Metadata metadata = loaded.spec.to_metadata();
  if (normalization) train::write_normalization(metadata, *normalization);
  const std::string bytes = export_model(loaded.spec, loaded.model.state_dict(), metadata, normalization);
  write_file_atomically(onnx_path, bytes);
}

}  // namespace bend::onnx
