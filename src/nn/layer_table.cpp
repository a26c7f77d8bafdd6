// The layer table of model specs: each kind's token, shape rule, parameter count and builder.
#include "bend/nn/layer_table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/avg_pool2d.hpp"
#include "bend/nn/batch_norm.hpp"
#include "bend/nn/conv2d.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/dropout2d.hpp"
#include "bend/nn/flatten.hpp"
#include "bend/nn/layer_norm.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/max_pool2d.hpp"
#include "bend/nn/swiglu.hpp"

namespace bend::nn {
namespace {

// Channels, kernels, strides and paddings stay far below this, so the window arithmetic cannot overflow;
// dense sizes may be anything (the MLP spec always allowed it): their products are overflow-checked.
constexpr std::int64_t kMaxSize = 1'000'000'000;
constexpr std::int64_t kMaxDenseSize = std::numeric_limits<std::int64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::int64_t read_size(std::string_view token, std::string_view text, std::string_view what, std::int64_t min,
                       std::int64_t max = kMaxSize) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    throw ValueError(
        fmt::format("'{}': {} '{}' is not a whole number in [{}, {}]", token, what, text, min, max));
  return v;
}

// "c6k5s2": the number after the prefix, then letter-number pairs with letters from `keys`.
struct Fields {
  std::string_view lead;  // the number right after the prefix
  std::vector<std::pair<char, std::string_view>> pairs;
};

Fields read_fields(std::string_view token, std::string_view prefix, std::string_view keys,
                   std::string_view grammar) {
  Fields f;
  std::size_t i = prefix.size();
  const std::size_t lead_end = std::find_if_not(token.begin() + static_cast<std::ptrdiff_t>(i), token.end(),
                                                [](char c) { return is_digit(c) || c == '.'; }) -
                               token.begin();
  f.lead = token.substr(i, lead_end - i);
  i = lead_end;
  while (i < token.size()) {
    const char key = token[i];
    if (keys.find(key) == std::string_view::npos)
      throw ValueError(
          fmt::format("'{}': unexpected '{}' (the token reads {})", token, token.substr(i), grammar));
    if (std::any_of(f.pairs.begin(), f.pairs.end(), [&](const auto& p) { return p.first == key; }))
      throw ValueError(fmt::format("'{}': '{}' given twice (the token reads {})", token, key, grammar));
    std::size_t end = i + 1;
    while (end < token.size() && is_digit(token[end])) ++end;
    f.pairs.emplace_back(key, token.substr(i + 1, end - i - 1));
    i = end;
  }
  return f;
}

std::int64_t field(const Fields& f, char key, std::int64_t fallback, std::string_view token,
                   std::string_view what, std::int64_t min) {
  for (const auto& [k, v] : f.pairs)
    if (k == key) return read_size(token, v, what, min);
  return fallback;
}

// An overflow-checked product; -1 when it does not fit in 63 bits.
std::int64_t product(std::initializer_list<std::int64_t> factors) {
  std::int64_t out = 1;
  for (std::int64_t f : factors)
    if (out < 0 || __builtin_mul_overflow(out, f, &out)) out = -1;
  return out;
}

std::int64_t plus(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  return a < 0 || b < 0 || __builtin_add_overflow(a, b, &out) ? -1 : out;
}

std::int64_t numel(const SampleShape& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) n = n < 0 ? -1 : product({n, d});
  return n;
}

void require_image(const SampleShape& in, std::string_view what) {
  if (in.size() != 3)
    throw ValueError(
        fmt::format("{} needs an image input [C, H, W], got {} (start the arch with an input "
                    "shape like 1x28x28, or put it before the first dense layer)",
                    what, sample_shape_string(in)));
}

void require_flat(const SampleShape& in, std::string_view what) {
  if (in.size() != 1)
    throw ValueError(fmt::format("{} needs a flat input, got {}", what, sample_shape_string(in)));
}

// Output size of a window sliding over `in` (PyTorch's floor formula); throws when nothing is left.
std::int64_t window_output(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                           std::int64_t dilation, const SampleShape& input, std::string_view what) {
  const std::int64_t span = dilation * (kernel - 1) + 1;
  const std::int64_t room = in + 2 * padding - span;
  if (room < 0 && what == "the pool window")
    throw ValueError(fmt::format("the pool window {} is larger than its {} input (it would leave 0x0)",
                                 kernel, sample_shape_string(input)));
  if (room < 0)
    throw ValueError(fmt::format("{} {} (dilation {}, padding {}) is larger than its {} input", what, kernel,
                                 dilation, padding, sample_shape_string(input)));
  return room / stride + 1;
}

// --- conv ------------------------------------------------------------------------------------------
constexpr std::string_view kConvGrammar = "c<out>k<kernel>[s<stride>][p<padding>][d<dilation>]";

LayerSpec parse_conv(std::string_view token) {
  const Fields f = read_fields(token, "c", "kspd", kConvGrammar);
  LayerSpec l;
  l.kind = "conv";
  l.size = read_size(token, f.lead, "the output channels", 1);
  l.kernel = field(f, 'k', 0, token, "the kernel", 1);
  if (l.kernel == 0)
    throw ValueError(fmt::format("'{}': a conv needs a kernel size, e.g. c{}k5 (the token reads {})", token,
                                 f.lead, kConvGrammar));
  l.stride = field(f, 's', 1, token, "the stride", 1);
  l.padding = field(f, 'p', 0, token, "the padding", 0);
  l.dilation = field(f, 'd', 1, token, "the dilation", 1);
  return l;
}

std::string conv_token(const LayerSpec& l) {
  std::string s = fmt::format("c{}k{}", l.size, l.kernel);
  if (l.stride != 1) s += fmt::format("s{}", l.stride);
  if (l.padding != 0) s += fmt::format("p{}", l.padding);
  if (l.dilation != 1) s += fmt::format("d{}", l.dilation);
  return s;
}

LayerShape infer_conv(const LayerSpec& l, const SampleShape& in) {
  require_image(in, "a conv");
  const std::string what = "the kernel";
  const std::int64_t h = window_output(in[1], l.kernel, l.stride, l.padding, l.dilation, in, what);
  const std::int64_t w = window_output(in[2], l.kernel, l.stride, l.padding, l.dilation, in, what);
  return {{l.size, h, w}, plus(product({l.size, in[0], l.kernel, l.kernel}), l.size), 0};
}

std::shared_ptr<Module> build_conv(const LayerSpec& l, const SampleShape& in, LayerBuild& b) {
  auto conv = std::make_shared<Conv2d>(in[0], l.size, l.kernel, l.stride, l.padding, l.dilation, true, b.rng);
  init::init_layer(conv->weight, conv->bias, b.scheme, b.next_activation, b.rng);
  return conv;
}

std::string explicit_conv(const LayerSpec& l, const SampleShape& in) {
  return fmt::format("Conv2d in={} out={} kernel={} stride={} padding={} dilation={}", in[0], l.size,
                     l.kernel, l.stride, l.padding, l.dilation);
}

// --- pools -----------------------------------------------------------------------------------------
LayerSpec parse_pool(std::string_view token, std::string_view kind, std::string_view grammar) {
  const std::string_view prefix =
      token.starts_with("mp") || token.starts_with("ap") ? token.substr(0, 2) : "p";
  const Fields f = read_fields(token, prefix, "s", grammar);
  LayerSpec l;
  l.kind = std::string(kind);
  l.kernel = read_size(token, f.lead, "the kernel", 1);
  l.stride = field(f, 's', l.kernel, token, "the stride", 1);
  return l;
}

LayerSpec parse_maxpool(std::string_view token) {
  return parse_pool(token, "maxpool", "p<kernel>[s<stride>]");
}
LayerSpec parse_avgpool(std::string_view token) {
  return parse_pool(token, "avgpool", "ap<kernel>[s<stride>]");
}

std::string pool_token(const LayerSpec& l, std::string_view prefix) {
  return l.stride == l.kernel ? fmt::format("{}{}", prefix, l.kernel)
                              : fmt::format("{}{}s{}", prefix, l.kernel, l.stride);
}
std::string maxpool_token(const LayerSpec& l) { return pool_token(l, "p"); }
std::string avgpool_token(const LayerSpec& l) { return pool_token(l, "ap"); }

LayerShape infer_pool(const LayerSpec& l, const SampleShape& in) {
  require_image(in, "a pool");
  const std::int64_t h = window_output(in[1], l.kernel, l.stride, 0, 1, in, "the pool window");
  const std::int64_t w = window_output(in[2], l.kernel, l.stride, 0, 1, in, "the pool window");
  return {{in[0], h, w}, 0, 0};
}

std::shared_ptr<Module> build_maxpool(const LayerSpec& l, const SampleShape&, LayerBuild&) {
  return std::make_shared<MaxPool2d>(l.kernel, Size2d(l.stride));
}
std::shared_ptr<Module> build_avgpool(const LayerSpec& l, const SampleShape&, LayerBuild&) {
  return std::make_shared<AvgPool2d>(l.kernel, Size2d(l.stride));
}
std::string explicit_maxpool(const LayerSpec& l, const SampleShape&) {
  return fmt::format("MaxPool2d kernel={} stride={}", l.kernel, l.stride);
}
std::string explicit_avgpool(const LayerSpec& l, const SampleShape&) {
  return fmt::format("AvgPool2d kernel={} stride={}", l.kernel, l.stride);
}

// --- tokens without numbers: flatten, batch norm, layer norm ---------------------------------------
LayerSpec parse_bare(std::string_view token, std::string_view prefix, std::string_view kind) {
  if (token != prefix) throw ValueError(fmt::format("'{}': expected just '{}'", token, prefix));
  LayerSpec l;
  l.kind = std::string(kind);
  return l;
}

LayerSpec parse_flatten(std::string_view token) { return parse_bare(token, "f", "flatten"); }
std::string flatten_token(const LayerSpec&) { return "f"; }
LayerShape infer_flatten(const LayerSpec&, const SampleShape& in) { return {{numel(in)}, 0, 0}; }
std::shared_ptr<Module> build_flatten(const LayerSpec&, const SampleShape&, LayerBuild&) {
  return std::make_shared<Flatten>();
}
std::string explicit_flatten(const LayerSpec&, const SampleShape&) { return "Flatten"; }

LayerSpec parse_batchnorm(std::string_view token) { return parse_bare(token, "bn", "batchnorm"); }
std::string batchnorm_token(const LayerSpec&) { return "bn"; }
LayerShape infer_batchnorm(const LayerSpec&, const SampleShape& in) {
  if (in.size() != 1 && in.size() != 3)
    throw ValueError(
        fmt::format("batch norm needs a flat or an image input, got {}", sample_shape_string(in)));
  // weight and bias; running_mean, running_var and num_batches_tracked.
  return {in, product({2, in[0]}), plus(product({2, in[0]}), 1)};
}
std::shared_ptr<Module> build_batchnorm(const LayerSpec&, const SampleShape& in, LayerBuild&) {
  if (in.size() == 3) return std::make_shared<BatchNorm2d>(in[0]);
  return std::make_shared<BatchNorm1d>(in[0]);
}
std::string explicit_batchnorm(const LayerSpec&, const SampleShape& in) {
  return fmt::format("{} features={}", in.size() == 3 ? "BatchNorm2d" : "BatchNorm1d", in[0]);
}

LayerSpec parse_layernorm(std::string_view token) { return parse_bare(token, "ln", "layernorm"); }
std::string layernorm_token(const LayerSpec&) { return "ln"; }
LayerShape infer_layernorm(const LayerSpec&, const SampleShape& in) {
  return {in, numel(in) < 0 ? -1 : product({2, numel(in)}), 0};
}
std::shared_ptr<Module> build_layernorm(const LayerSpec&, const SampleShape& in, LayerBuild&) {
  return std::make_shared<LayerNorm>(in);
}
std::string explicit_layernorm(const LayerSpec&, const SampleShape& in) {
  return fmt::format("LayerNorm shape={}", fmt::join(in, ","));
}

// --- dropout ---------------------------------------------------------------------------------------
LayerSpec parse_dropout_with(std::string_view token, std::string_view prefix, std::string_view kind) {
  const std::string_view text = token.substr(prefix.size());
  float p = 0.0f;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !(p >= 0.0f && p < 1.0f))
    throw ValueError(fmt::format("'{}': the dropout probability '{}' is not a number in [0, 1) (e.g. {}0.5)",
                                 token, text, prefix));
  LayerSpec l;
  l.kind = std::string(kind);
  l.p = p;
  return l;
}
LayerSpec parse_dropout(std::string_view token) { return parse_dropout_with(token, "drop", "dropout"); }
LayerSpec parse_dropout2d(std::string_view token) { return parse_dropout_with(token, "drop2d", "dropout2d"); }
std::string dropout_token(const LayerSpec& l) { return fmt::format("drop{}", l.p); }
std::string dropout2d_token(const LayerSpec& l) { return fmt::format("drop2d{}", l.p); }
LayerShape infer_dropout(const LayerSpec&, const SampleShape& in) { return {in, 0, 0}; }
LayerShape infer_dropout2d(const LayerSpec&, const SampleShape& in) {
  require_image(in, "drop2d (channel dropout)");
  return {in, 0, 0};
}
std::shared_ptr<Module> build_dropout(const LayerSpec& l, const SampleShape&, LayerBuild& b) {
  return std::make_shared<Dropout>(l.p, b.rng.next_u64());
}
std::shared_ptr<Module> build_dropout2d(const LayerSpec& l, const SampleShape&, LayerBuild& b) {
  return std::make_shared<Dropout2d>(l.p, b.rng.next_u64());
}
std::string explicit_dropout(const LayerSpec& l, const SampleShape&) {
  return fmt::format("Dropout p={}", l.p);
}
std::string explicit_dropout2d(const LayerSpec& l, const SampleShape&) {
  return fmt::format("Dropout2d p={}", l.p);
}

// --- dense (a number), SwiGLU, activations ---------------------------------------------------------
LayerSpec parse_dense(std::string_view token) {
  LayerSpec l;
  l.kind = "dense";
  l.size = read_size(token, token, "the layer size", 1, kMaxDenseSize);
  return l;
}
std::string dense_token(const LayerSpec& l) { return std::to_string(l.size); }
LayerShape infer_dense(const LayerSpec& l, const SampleShape& in) {
  require_flat(in, "a dense layer");
  return {{l.size}, plus(product({in[0], l.size}), l.size), 0};
}
std::shared_ptr<Module> build_dense(const LayerSpec& l, const SampleShape& in, LayerBuild& b) {
  auto layer = std::make_shared<Linear>(in[0], l.size, true, b.rng);
  init::init_linear(*layer, b.scheme, b.next_activation, b.rng);
  return layer;
}
std::string explicit_dense(const LayerSpec& l, const SampleShape& in) {
  return fmt::format("Linear in={} out={}", in[0], l.size);
}

LayerShape infer_swiglu(const LayerSpec& l, const SampleShape& in) {
  require_flat(in, "a SwiGLU block");
  const std::int64_t one = plus(product({in[0], l.size}), l.size);
  return {{l.size}, one < 0 ? -1 : product({2, one}), 0};
}
std::shared_ptr<Module> build_swiglu(const LayerSpec& l, const SampleShape& in, LayerBuild& b) {
  auto block = std::make_shared<SwiGLU>(in[0], l.size, true, b.rng);
  // The gate feeds a SiLU, the up projection is linear (as build_mlp).
  init::init_linear(block->gate_proj(), b.scheme, &activation("silu"), b.rng);
  init::init_linear(block->up_proj(), b.scheme, nullptr, b.rng);
  return block;
}
std::string explicit_swiglu(const LayerSpec& l, const SampleShape& in) {
  return fmt::format("SwiGLU in={} out={}", in[0], l.size);
}

LayerShape infer_activation(const LayerSpec& l, const SampleShape& in) {
  // PReLU learns one slope (as nn.PReLU()); the table's functions have no parameters.
  return {in, activation_module(activation(l.activation))->num_parameters(), 0};
}
std::shared_ptr<Module> build_activation(const LayerSpec& l, const SampleShape&, LayerBuild&) {
  return activation_module(activation(l.activation));
}
std::string explicit_activation(const LayerSpec& l, const SampleShape&) {
  return fmt::format("Activation name={} module={}", l.activation, activation(l.activation).module_name);
}
LayerSpec no_parse(std::string_view token) {
  throw ValueError(fmt::format("'{}' is not an --arch token", token));
}
std::string activation_token(const LayerSpec& l) { return l.activation; }
std::string swiglu_token(const LayerSpec& l) { return std::to_string(l.size); }

}  // namespace

const std::vector<LayerKind>& layer_table() {
  static const std::vector<LayerKind> table = {
      {"conv",
       {"c"},
       kConvGrammar,
       "Conv2d (stride 1, padding 0, dilation 1 unless given)",
       parse_conv,
       conv_token,
       infer_conv,
       build_conv,
       explicit_conv},
      {"maxpool",
       {"p", "mp"},
       "p<kernel>[s<stride>]",
       "MaxPool2d (stride = kernel unless given)",
       parse_maxpool,
       maxpool_token,
       infer_pool,
       build_maxpool,
       explicit_maxpool},
      {"avgpool",
       {"ap"},
       "ap<kernel>[s<stride>]",
       "AvgPool2d",
       parse_avgpool,
       avgpool_token,
       infer_pool,
       build_avgpool,
       explicit_avgpool},
      {"flatten",
       {"f"},
       "f",
       "Flatten (implicit before the first dense layer after an image layer)",
       parse_flatten,
       flatten_token,
       infer_flatten,
       build_flatten,
       explicit_flatten},
      {"batchnorm",
       {"bn"},
       "bn",
       "BatchNorm1d or BatchNorm2d",
       parse_batchnorm,
       batchnorm_token,
       infer_batchnorm,
       build_batchnorm,
       explicit_batchnorm},
      {"layernorm",
       {"ln"},
       "ln",
       "LayerNorm over the whole sample",
       parse_layernorm,
       layernorm_token,
       infer_layernorm,
       build_layernorm,
       explicit_layernorm},
      {"dropout",
       {"drop"},
       "drop<p>",
       "Dropout",
       parse_dropout,
       dropout_token,
       infer_dropout,
       build_dropout,
       explicit_dropout},
      {"dropout2d",
       {"drop2d"},
       "drop2d<p>",
       "Dropout2d (whole channels)",
       parse_dropout2d,
       dropout2d_token,
       infer_dropout2d,
       build_dropout2d,
       explicit_dropout2d},
      {"dense",
       {},
       "<features>",
       "Linear (the last one is the output layer)",
       parse_dense,
       dense_token,
       infer_dense,
       build_dense,
       explicit_dense},
      // Not tokens of --arch: what --act puts in.
      {"swiglu",
       {},
       "",
       "SwiGLU block (a hidden dense layer with --act swiglu)",
       no_parse,
       swiglu_token,
       infer_swiglu,
       build_swiglu,
       explicit_swiglu},
      {"act",
       {},
       "",
       "the hidden activation (--act)",
       no_parse,
       activation_token,
       infer_activation,
       build_activation,
       explicit_activation},
  };
  return table;
}

const LayerKind& find_layer_kind(std::string_view name) {
  for (const LayerKind& k : layer_table())
    if (k.name == name) return k;
  throw ValueError(fmt::format("unknown layer kind '{}'", name));
}

const LayerKind* layer_kind_for_token(std::string_view token) {
  if (!token.empty() && std::all_of(token.begin(), token.end(), is_digit)) return &find_layer_kind("dense");
  const LayerKind* best = nullptr;
  std::size_t best_length = 0;
  for (const LayerKind& k : layer_table())
    for (std::string_view prefix : k.prefixes) {
      // The prefix must be all of the token's leading letters: "p2" is a pool, "pp2" is nothing.
      const bool letters_end =
          token.size() <= prefix.size() || !std::isalpha(static_cast<unsigned char>(token[prefix.size()]));
      if (token.starts_with(prefix) && prefix.size() > best_length && letters_end) {
        best = &k;
        best_length = prefix.size();
      }
    }
  return best;
}

std::string layer_grammar_help() {
  std::string out;
  for (const LayerKind& k : layer_table())
    if (!k.grammar.empty()) out += fmt::format("{}{} {}", out.empty() ? "" : "; ", k.grammar, k.summary);
  return out;
}

}  // namespace bend::nn
