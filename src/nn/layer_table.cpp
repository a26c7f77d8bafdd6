// The layer table of model specs: each kind's token grammar, shape rule, parameter count, builder and
// PyTorch module, one entry each; the token reading and printing every entry shares.
#include "bend/nn/layer_table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../ops/window2d.hpp"  // detail::pool_output_size: the op's own output size rule
#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/alpha_dropout.hpp"
#include "bend/nn/avg_pool2d.hpp"
#include "bend/nn/batch_norm.hpp"
#include "bend/nn/class_token.hpp"
#include "bend/nn/conv2d.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/dropout2d.hpp"
#include "bend/nn/flatten.hpp"
#include "bend/nn/layer_norm.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/max_pool2d.hpp"
#include "bend/nn/patch_embedding.hpp"
#include "bend/nn/position_embedding.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/nn/swiglu.hpp"
#include "bend/nn/take_token.hpp"
#include "bend/nn/transformer_encoder_layer.hpp"

namespace bend::nn {
namespace {

using Type = LayerField::Type;
using json = nlohmann::ordered_json;

// Dense sizes may be anything (the MLP spec always allowed it): their products are overflow-checked.
constexpr std::int64_t kMaxDenseSize = std::numeric_limits<std::int64_t>::max();

bool is_decimal_digit(char c) { return c >= '0' && c <= '9'; }

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

void require_sequence(const SampleShape& in, std::string_view what) {
  if (in.size() != 2)
    throw ValueError(fmt::format("{} needs a token sequence [tokens, d] (after a patch layer), got {}", what,
                                 sample_shape_string(in)));
}

void require_flat(const SampleShape& in, std::string_view what) {
  if (in.size() != 1)
    throw ValueError(fmt::format("{} needs a flat input, got {}", what, sample_shape_string(in)));
}

// A conv's output side (PyTorch's floor formula); throws when the dilated kernel does not fit.
std::int64_t conv_output(std::int64_t in, const LayerSpec& l, const SampleShape& input) {
  const std::int64_t kernel = l.whole("kernel"), dilation = l.whole("dilation"), padding = l.whole("padding");
  if (in + 2 * padding - dilation * (kernel - 1) - 1 < 0)
    throw ValueError(fmt::format("the kernel {} (dilation {}, padding {}) is larger than its {} input",
                                 kernel, dilation, padding, sample_shape_string(input)));
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / l.whole("stride") + 1;
}

// A pool's output side (the op's rule: PyTorch's, ceil_mode included); throws when nothing is left or
// the padding is more than half the kernel (as PyTorch).
std::int64_t pool_output(std::int64_t in, const LayerSpec& l, const SampleShape& input) {
  const std::int64_t kernel = l.whole("kernel"), padding = l.whole("padding");
  const std::int64_t dilation = l.args.contains("dilation") ? l.whole("dilation") : 1;
  if (2 * padding > kernel)
    throw ValueError(fmt::format("the pool padding {} is more than half its kernel {}", padding, kernel));
  const std::int64_t out =
      detail::pool_output_size(in, kernel, l.whole("stride"), padding, dilation, l.whole("ceil_mode") != 0);
  if (out <= 0)
    throw ValueError(fmt::format("the pool window {} is larger than its {} input (it would leave 0x0)",
                                 kernel, sample_shape_string(input)));
  return out;
}

// A float argument as written ("0.1"), not float 0.1's double (0.10000000149...), for the JSON.
double as_written(double v) { return std::stod(fmt::format("{}", static_cast<float>(v))); }

const LayerArg& arg(const LayerSpec& l, std::string_view name) {
  const auto it = l.args.find(name);
  if (it == l.args.end()) throw ValueError(fmt::format("layer '{}' has no argument '{}'", l.kind, name));
  return it->second;
}

}  // namespace

// --- LayerSpec --------------------------------------------------------------------------------------
namespace {
template <class T>
const T& arg_of(const LayerSpec& l, std::string_view name, std::string_view type) {
  const auto it = l.args.find(name);
  if (it == l.args.end() || !std::holds_alternative<T>(it->second))
    throw ValueError(fmt::format("layer '{}' has no {} argument '{}'", l.kind, type, name));
  return std::get<T>(it->second);
}
}  // namespace

std::int64_t LayerSpec::whole(std::string_view name) const {
  return arg_of<std::int64_t>(*this, name, "whole-number");
}
double LayerSpec::real(std::string_view name) const { return arg_of<double>(*this, name, "real"); }
const std::string& LayerSpec::text(std::string_view name) const {
  return arg_of<std::string>(*this, name, "name");
}

// --- tokens: every entry's grammar is its fields ----------------------------------------------------
namespace {

std::string value_text(const LayerArg& v) {
  if (const auto* w = std::get_if<std::int64_t>(&v)) return std::to_string(*w);
  if (const auto* r = std::get_if<double>(&v)) return fmt::format("{}", static_cast<float>(*r));
  return std::get<std::string>(v);
}

// The field's text from a token to its value; ValueError naming the token and the grammar otherwise.
LayerArg read_value(const LayerField& f, std::string_view text, std::string_view token,
                    std::string_view grammar) {
  if (f.type == Type::Flag) {
    if (!text.empty())
      throw ValueError(
          fmt::format("'{}': '{}' takes no number (the token reads {})", token, f.letter, grammar));
    return std::int64_t{1};
  }
  if (f.type == Type::Name) {
    if (text.empty()) throw ValueError(fmt::format("'{}': the {} is missing", token, f.name));
    return std::string(text);
  }
  if (f.type == Type::Real) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    // A probability: [0, 1) (the only real field so far is a dropout's).
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !(v >= 0.0 && v < 1.0))
      throw ValueError(fmt::format("'{}': the {} '{}' is not a number in [0, 1) (the token reads {})", token,
                                   f.name, text, grammar));
    return v;
  }
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < f.min || v > f.max)
    throw ValueError(fmt::format("'{}': the {} '{}' is not a whole number in [{}, {}] (the token reads {})",
                                 token, f.name, text, f.min, f.max, grammar));
  return v;
}

}  // namespace

std::string LayerKind::grammar() const {
  std::string out = prefixes.empty() ? "" : std::string(prefixes.front());
  for (const LayerField& f : fields) {
    if (f.letter == 0)
      out += fmt::format("<{}>", f.name);
    else if (f.type == Type::Flag)
      out += fmt::format("[{}]", f.letter);
    else if (f.required)
      out += fmt::format("{}<{}>", f.letter, f.name);
    else
      out += fmt::format("[{}<{}>]", f.letter, f.name);
  }
  return out;
}

LayerSpec LayerKind::layer(LayerArgs args) const {
  LayerSpec l{std::string(name), std::move(args)};
  for (const LayerField& f : fields)
    if (!l.args.contains(f.name) && f.fallback_to.empty() && (f.type == Type::Whole || f.type == Type::Flag))
      l.args.emplace(f.name, f.fallback);
  for (const LayerField& f : fields)
    if (!l.args.contains(f.name) && !f.fallback_to.empty()) l.args.emplace(f.name, arg(l, f.fallback_to));
  return l;
}

LayerSpec LayerKind::parse(std::string_view token) const {
  const std::string rules = grammar();
  std::string_view prefix;
  for (std::string_view p : prefixes)
    if (token.starts_with(p) && p.size() > prefix.size()) prefix = p;
  LayerArgs args;
  std::size_t i = prefix.size();
  for (const LayerField& f : fields)
    if (f.letter == 0) {
      const auto end = f.type == Type::Name
                           ? token.end()
                           : std::find_if_not(token.begin() + static_cast<std::ptrdiff_t>(i), token.end(),
                                              [](char c) { return is_decimal_digit(c) || c == '.'; });
      const auto lead_end = static_cast<std::size_t>(end - token.begin());
      args.emplace(f.name, read_value(f, token.substr(i, lead_end - i), token, rules));
      i = lead_end;
    }
  while (i < token.size()) {
    const char key = token[i];
    const auto f =
        std::find_if(fields.begin(), fields.end(), [&](const LayerField& x) { return x.letter == key; });
    if (key == 0 || f == fields.end())
      throw ValueError(
          fmt::format("'{}': unexpected '{}' (the token reads {})", token, token.substr(i), rules));
    if (args.contains(f->name))
      throw ValueError(fmt::format("'{}': '{}' given twice (the token reads {})", token, key, rules));
    std::size_t end = i + 1;
    while (end < token.size() && (is_decimal_digit(token[end]) || token[end] == '.')) ++end;
    args.emplace(f->name, read_value(*f, token.substr(i + 1, end - i - 1), token, rules));
    i = end;
  }
  for (const LayerField& f : fields)
    if (f.required && !args.contains(f.name))
      throw ValueError(
          fmt::format("'{}': needs {}<{}> (the token reads {})", token, f.letter, f.name, rules));
  return layer(std::move(args));
}

std::string LayerKind::token(const LayerSpec& l) const {
  std::string out = prefixes.empty() ? "" : std::string(prefixes.front());
  for (const LayerField& f : fields) {
    const LayerArg& v = arg(l, f.name);
    if (f.letter == 0) {
      out += value_text(v);
      continue;
    }
    const LayerArg fallback = f.fallback_to.empty() ? LayerArg(f.fallback) : arg(l, f.fallback_to);
    if (v == fallback && !f.required) continue;
    out += f.letter;
    if (f.type != Type::Flag) out += value_text(v);
  }
  return out;
}

// --- the table ---------------------------------------------------------------------------------------
namespace {

// The fields every pool shares: the kernel first, then stride (= kernel), padding and ceil_mode.
std::vector<LayerField> pool_fields(bool dilation) {
  std::vector<LayerField> f = {
      {.letter = 0, .name = "kernel", .min = 1},
      {.letter = 's', .name = "stride", .fallback_to = "kernel", .min = 1},
      {.letter = 'p', .name = "padding", .fallback = 0},
  };
  if (dilation) f.push_back({.letter = 'd', .name = "dilation", .fallback = 1, .min = 1});
  f.push_back({.letter = 'c', .name = "ceil_mode", .type = Type::Flag});
  return f;
}

LayerShape infer_pool(const LayerSpec& l, const SampleShape& in) {
  require_image(in, "a pool");
  return {{in[0], pool_output(in[1], l, in), pool_output(in[2], l, in)}, 0, 0};
}

// A transformer layer's feed-forward activation (set from --act by ModelSpec::parse).
const std::string& transformer_activation(const LayerSpec& l) {
  static const std::string fallback = "gelu";
  return l.args.contains("act") ? l.text("act") : fallback;
}

// Dropout, Dropout2d and AlphaDropout: "drop0.5", "drop2d0.25", "adrop0.1".
std::vector<LayerField> dropout_fields() { return {{.letter = 0, .name = "p", .type = Type::Real}}; }

std::vector<LayerKind> make_table() {
  return {
      {.name = "conv",
       .prefixes = {"c"},
       .fields = {{.letter = 0, .name = "out", .min = 1},
                  {.letter = 'k', .name = "kernel", .required = true, .min = 1},
                  {.letter = 's', .name = "stride", .fallback = 1, .min = 1},
                  {.letter = 'p', .name = "padding", .fallback = 0},
                  {.letter = 'd', .name = "dilation", .fallback = 1, .min = 1}},
       .summary = "Conv2d (stride 1, padding 0, dilation 1 unless given)",
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_image(in, "a conv");
         const std::int64_t out = l.whole("out"), k = l.whole("kernel");
         return {{out, conv_output(in[1], l, in), conv_output(in[2], l, in)},
                 plus(product({out, in[0], k, k}), out),
                 0};
       },
       .build = [](const LayerSpec& l, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         auto conv = std::make_shared<Conv2d>(in[0], l.whole("out"), l.whole("kernel"), l.whole("stride"),
                                              l.whole("padding"), l.whole("dilation"), true, b.rng);
         init::init_layer(conv->weight, conv->bias, b.scheme, b.next_activation, b.rng);
         return conv;
       },
       .torch = [](const LayerSpec& l, const SampleShape& in) -> TorchModule {
         return {"Conv2d",
                 {{"in_channels", in[0]},
                  {"out_channels", l.whole("out")},
                  {"kernel_size", l.whole("kernel")},
                  {"stride", l.whole("stride")},
                  {"padding", l.whole("padding")},
                  {"dilation", l.whole("dilation")}}};
       },
       .example = {{"out", std::int64_t{3}},
                   {"kernel", std::int64_t{3}},
                   {"stride", std::int64_t{2}},
                   {"padding", std::int64_t{1}},
                   {"dilation", std::int64_t{2}}},
       .example_input = {2, 7, 6}},
      {.name = "maxpool",
       .prefixes = {"p", "mp"},
       .fields = pool_fields(true),
       .summary = "MaxPool2d (stride = kernel unless given; c: ceil_mode)",
       .infer = infer_pool,
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild&) -> std::shared_ptr<Module> {
         return std::make_shared<MaxPool2d>(l.whole("kernel"), Size2d(l.whole("stride")), l.whole("padding"),
                                            l.whole("dilation"), l.whole("ceil_mode") != 0);
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"MaxPool2d",
                 {{"kernel_size", l.whole("kernel")},
                  {"stride", l.whole("stride")},
                  {"padding", l.whole("padding")},
                  {"dilation", l.whole("dilation")},
                  {"ceil_mode", l.whole("ceil_mode") != 0}}};
       },
       .example = {{"kernel", std::int64_t{3}},
                   {"stride", std::int64_t{2}},
                   {"padding", std::int64_t{1}},
                   {"dilation", std::int64_t{2}},
                   {"ceil_mode", std::int64_t{1}}},
       .example_input = {2, 8, 7}},
      {.name = "avgpool",
       .prefixes = {"ap"},
       .fields = pool_fields(false),
       .summary = "AvgPool2d (padding counted, as PyTorch's count_include_pad)",
       .infer = infer_pool,
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild&) -> std::shared_ptr<Module> {
         return std::make_shared<AvgPool2d>(l.whole("kernel"), Size2d(l.whole("stride")), l.whole("padding"),
                                            l.whole("ceil_mode") != 0);
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"AvgPool2d",
                 {{"kernel_size", l.whole("kernel")},
                  {"stride", l.whole("stride")},
                  {"padding", l.whole("padding")},
                  {"ceil_mode", l.whole("ceil_mode") != 0}}};
       },
       .example = {{"kernel", std::int64_t{3}},
                   {"stride", std::int64_t{2}},
                   {"padding", std::int64_t{1}},
                   {"ceil_mode", std::int64_t{1}}},
       .example_input = {2, 6, 7}},
      {.name = "flatten",
       .prefixes = {"f"},
       .summary = "Flatten (implicit before the first dense layer after an image layer)",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         return {{numel(in)}, 0, 0};
       },
       .build = [](const LayerSpec&, const SampleShape&, LayerBuild&) -> std::shared_ptr<Module> {
         return std::make_shared<Flatten>();
       },
       .torch = [](const LayerSpec&, const SampleShape&) -> TorchModule { return {"Flatten"}; },
       .example_input = {2, 3, 4}},
      {.name = "batchnorm",
       .prefixes = {"bn"},
       .summary = "BatchNorm1d or BatchNorm2d",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         if (in.size() != 1 && in.size() != 3)
           throw ValueError(
               fmt::format("batch norm needs a flat or an image input, got {}", sample_shape_string(in)));
         // weight and bias; running_mean, running_var and num_batches_tracked.
         return {in, product({2, in[0]}), plus(product({2, in[0]}), 1)};
       },
       .build = [](const LayerSpec&, const SampleShape& in, LayerBuild&) -> std::shared_ptr<Module> {
         if (in.size() == 3) return std::make_shared<BatchNorm2d>(in[0]);
         return std::make_shared<BatchNorm1d>(in[0]);
       },
       .torch = [](const LayerSpec&, const SampleShape& in) -> TorchModule {
         return {in.size() == 3 ? "BatchNorm2d" : "BatchNorm1d", {{"num_features", in[0]}}};
       },
       .example_input = {3, 4, 5}},
      {.name = "layernorm",
       .prefixes = {"ln"},
       .summary = "LayerNorm over the whole sample",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         return {in, numel(in) < 0 ? -1 : product({2, numel(in)}), 0};
       },
       .build = [](const LayerSpec&, const SampleShape& in, LayerBuild&) -> std::shared_ptr<Module> {
         return std::make_shared<LayerNorm>(in);
       },
       .torch = [](const LayerSpec&, const SampleShape& in) -> TorchModule {
         return {"LayerNorm", {{"normalized_shape", in}}};
       },
       .example_input = {2, 3, 4}},
      {.name = "dropout",
       .prefixes = {"drop"},
       .fields = dropout_fields(),
       .summary = "Dropout",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         return {in, 0, 0};
       },
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<Dropout>(static_cast<float>(l.real("p")), b.rng.next_u64());
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"Dropout", {{"p", as_written(l.real("p"))}}};
       },
       .example = {{"p", 0.25}},
       .example_input = {10}},
      {.name = "dropout2d",
       .prefixes = {"drop2d"},
       .fields = dropout_fields(),
       .summary = "Dropout2d (whole channels)",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         require_image(in, "drop2d (channel dropout)");
         return {in, 0, 0};
       },
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<Dropout2d>(static_cast<float>(l.real("p")), b.rng.next_u64());
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"Dropout2d", {{"p", as_written(l.real("p"))}}};
       },
       .example = {{"p", 0.5}},
       .example_input = {4, 3, 3}},
      {.name = "alphadropout",
       .prefixes = {"adrop"},
       .fields = dropout_fields(),
       .summary = "AlphaDropout (for SELU nets)",
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         return {in, 0, 0};
       },
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<AlphaDropout>(static_cast<float>(l.real("p")), b.rng.next_u64());
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"AlphaDropout", {{"p", as_written(l.real("p"))}}};
       },
       .example = {{"p", 0.2}},
       .example_input = {10}},
      {.name = "dense",
       .fields = {{.letter = 0, .name = "features", .min = 1, .max = kMaxDenseSize}},
       .summary = "Linear (the last one is the output layer)",
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_flat(in, "a dense layer");
         const std::int64_t out = l.whole("features");
         return {{out}, plus(product({in[0], out}), out), 0};
       },
       .build = [](const LayerSpec& l, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         auto layer = std::make_shared<Linear>(in[0], l.whole("features"), true, b.rng);
         init::init_linear(*layer, b.scheme, b.next_activation, b.rng);
         return layer;
       },
       .torch = [](const LayerSpec& l, const SampleShape& in) -> TorchModule {
         return {"Linear", {{"in_features", in[0]}, {"out_features", l.whole("features")}}};
       },
       .example = {{"features", std::int64_t{4}}},
       .example_input = {6}},
      {.name = "patch",
       .prefixes = {"patch"},
       .fields = {{.letter = 0, .name = "patch", .min = 1},
                  {.letter = 'd', .name = "dim", .required = true, .min = 1}},
       .summary = "PatchEmbedding: Conv2d(C, dim, kernel = stride = patch), as tokens [patches, dim]",
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_image(in, "a patch embedding");
         const std::int64_t p = l.whole("patch"), d = l.whole("dim");
         if (in[1] % p != 0 || in[2] % p != 0)
           throw ValueError(
               fmt::format("the patch {}x{} does not divide the {} image (its height and width "
                           "must be multiples of {})",
                           p, p, sample_shape_string(in), p));
         return {{product({in[1] / p, in[2] / p}), d}, plus(product({d, in[0], p, p}), d), 0};
       },
       .build = [](const LayerSpec& l, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<PatchEmbedding>(in[0], l.whole("dim"), l.whole("patch"), b.rng);
       },
       // Not in torch.nn as one module: scripts/torch_load_model.py's PatchEmbedding is an nn.Conv2d whose
       // output is read as tokens.
       .torch = [](const LayerSpec& l, const SampleShape& in) -> TorchModule {
         return {"PatchEmbedding",
                 {{"in_channels", in[0]},
                  {"out_channels", l.whole("dim")},
                  {"kernel_size", l.whole("patch")},
                  {"stride", l.whole("patch")}}};
       },
       .example = {{"patch", std::int64_t{3}}, {"dim", std::int64_t{4}}},
       .example_input = {2, 6, 9}},
      {.name = "cls",
       .prefixes = {"cls"},
       .summary = "ClassToken: a learned token first (parameter cls_token [1, 1, d])",
       .own_namespace = true,
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         require_sequence(in, "a class token");
         return {{plus(in[0], 1), in[1]}, in[1], 0};
       },
       .build = [](const LayerSpec&, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<ClassToken>(in[1], b.rng);
       },
       .torch = [](const LayerSpec&, const SampleShape& in) -> TorchModule {
         return {"ClassToken", {{"embed_dim", in[1]}}};
       },
       .example_input = {3, 4}},
      {.name = "pos",
       .prefixes = {"pos"},
       .summary = "PositionEmbedding: a learned table added (parameter pos_embed [1, tokens, d])",
       .own_namespace = true,
       .infer = [](const LayerSpec&, const SampleShape& in) -> LayerShape {
         require_sequence(in, "a position embedding");
         return {in, product({in[0], in[1]}), 0};
       },
       .build = [](const LayerSpec&, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         return std::make_shared<PositionEmbedding>(in[0], in[1], b.rng);
       },
       .torch = [](const LayerSpec&, const SampleShape& in) -> TorchModule {
         return {"PositionEmbedding", {{"max_tokens", in[0]}, {"embed_dim", in[1]}}};
       },
       .example_input = {3, 4}},
      {.name = "tf",
       .prefixes = {"tf"},
       .fields = {{.letter = 0, .name = "layers", .min = 1, .max = 1000},
                  {.letter = 'h', .name = "heads", .required = true, .min = 1},
                  {.letter = 'f', .name = "ff", .required = true, .min = 1}},
       .summary = "TransformerEncoderLayers (norm_first, dropout 0; the feed-forward activation: --act)",
       .takes_activation = true,
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_sequence(in, "a transformer layer");
         const std::int64_t d = in[1], h = l.whole("heads"), ff = l.whole("ff");
         if (d % h != 0)
           throw ValueError(fmt::format("embed_dim {} (input {}) is not divisible by num_heads {}", d,
                                        sample_shape_string(in), h));
         const std::string& act = transformer_activation(l);
         const std::int64_t ff1 = act == "swiglu" ? product({2, ff}) : ff;
         const std::int64_t act_params =
             act == "swiglu" ? 0 : activation_module(activation(act))->num_parameters();
         std::int64_t one = plus(product({4, d, d}), product({4, d}));  // in_proj and out_proj
         one = plus(one, plus(product({d, ff1}), ff1));                 // linear1
         one = plus(one, plus(product({ff, d}), d));                    // linear2
         one = plus(one, plus(product({4, d}), act_params));            // norm1, norm2, activation
         return {in, product({l.whole("layers"), one}), 0};
       },
       .build = [](const LayerSpec& l, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         auto blocks = std::make_shared<Sequential>();
         TransformerEncoderLayerConfig c;
         c.d_model = in[1];
         c.nhead = l.whole("heads");
         c.dim_feedforward = l.whole("ff");
         c.dropout = 0.0f;
         c.activation = transformer_activation(l);
         c.norm_first = true;
         for (std::int64_t i = 0; i < l.whole("layers"); ++i)
           blocks->push_back(std::make_shared<TransformerEncoderLayer>(c, b.rng));
         return blocks;
       },
       // nn.TransformerEncoderLayers in an nn.Sequential; swiglu: scripts/torch_load_model.py's
       // SwiGLUTransformerEncoderLayer (linear1 to 2·ff, silu(gate) * value).
       .torch = [](const LayerSpec& l, const SampleShape& in) -> TorchModule {
         const std::string& act = transformer_activation(l);
         TorchModule layer{act == "swiglu" ? "SwiGLUTransformerEncoderLayer" : "TransformerEncoderLayer",
                           {{"d_model", in[1]},
                            {"nhead", l.whole("heads")},
                            {"dim_feedforward", l.whole("ff")},
                            {"dropout", 0.0}}};
         if (act != "swiglu")
           layer.args["activation"] =
               find_layer_kind("act").torch(find_layer_kind("act").layer({{"name", act}}), in).to_json();
         layer.args["batch_first"] = true;
         layer.args["norm_first"] = true;
         TorchModule blocks{"Sequential"};
         blocks.modules.assign(static_cast<std::size_t>(l.whole("layers")), layer);
         return blocks;
       },
       .example = {{"layers", std::int64_t{2}}, {"heads", std::int64_t{2}}, {"ff", std::int64_t{6}}},
       .example_input = {5, 4}},
      {.name = "token",
       .prefixes = {"tok"},
       .fields = {{.letter = 0, .name = "index", .min = 0}},
       .summary = "TakeToken: one token of the sequence (tok0: the class token), [tokens, d] -> [d]",
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_sequence(in, "taking a token");
         if (l.whole("index") >= in[0])
           throw ValueError(
               fmt::format("token {} is past the sequence's {} tokens", l.whole("index"), in[0]));
         return {{in[1]}, 0, 0};
       },
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild&) -> std::shared_ptr<Module> {
         return std::make_shared<TakeToken>(l.whole("index"));
       },
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         return {"TakeToken", {{"index", l.whole("index")}}};
       },
       .example = {{"index", std::int64_t{1}}},
       .example_input = {3, 5}},
      // Not tokens of --arch: what --act puts in.
      {.name = "swiglu",
       .fields = {{.letter = 0, .name = "features", .min = 1, .max = kMaxDenseSize}},
       .summary = "SwiGLU block (a hidden dense layer with --act swiglu)",
       .in_arch = false,
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         require_flat(in, "a SwiGLU block");
         const std::int64_t one = plus(product({in[0], l.whole("features")}), l.whole("features"));
         return {{l.whole("features")}, one < 0 ? -1 : product({2, one}), 0};
       },
       .build = [](const LayerSpec& l, const SampleShape& in, LayerBuild& b) -> std::shared_ptr<Module> {
         auto block = std::make_shared<SwiGLU>(in[0], l.whole("features"), true, b.rng);
         // The gate feeds a SiLU, the up projection is linear.
         init::init_linear(block->gate_proj(), b.scheme, &activation("silu"), b.rng);
         init::init_linear(block->up_proj(), b.scheme, nullptr, b.rng);
         return block;
       },
       // Not in torch.nn: scripts/torch_load_model.py defines it (two Linears, silu(gate) * up).
       .torch = [](const LayerSpec& l, const SampleShape& in) -> TorchModule {
         return {"SwiGLU", {{"in_features", in[0]}, {"hidden_features", l.whole("features")}}};
       },
       .example = {{"features", std::int64_t{3}}},
       .example_input = {5}},
      {.name = "act",
       .fields = {{.letter = 0, .name = "name", .type = Type::Name}},
       .summary = "the hidden activation (--act)",
       .in_arch = false,
       .infer = [](const LayerSpec& l, const SampleShape& in) -> LayerShape {
         // PReLU learns one slope (as nn.PReLU()); the table's functions have no parameters.
         return {in, activation_module(activation(l.text("name")))->num_parameters(), 0};
       },
       .build = [](const LayerSpec& l, const SampleShape&, LayerBuild&) -> std::shared_ptr<Module> {
         return activation_module(activation(l.text("name")));
       },
       // The activation table's torch.nn class with its default parameters (named as PyTorch's).
       .torch = [](const LayerSpec& l, const SampleShape&) -> TorchModule {
         const ActivationInfo& info = activation(l.text("name"));
         TorchModule m{std::string(info.module_name)};
         const float values[3] = {info.defaults.a, info.defaults.b, info.defaults.c};
         for (int i = 0; i < 3; ++i)
           if (!info.param_names[i].empty()) m.args[std::string(info.param_names[i])] = as_written(values[i]);
         if (info.name == "gelu_tanh") m.args["approximate"] = "tanh";
         return m;
       },
       .example = {{"name", "gelu_tanh"}},
       .example_input = {5}},
  };
}

}  // namespace

const std::vector<LayerKind>& layer_table() {
  static const std::vector<LayerKind> table = make_table();
  return table;
}

const LayerKind& find_layer_kind(std::string_view name) {
  for (const LayerKind& k : layer_table())
    if (k.name == name) return k;
  throw ValueError(fmt::format("unknown layer kind '{}'", name));
}

const LayerKind* layer_kind_for_token(std::string_view token) {
  if (!token.empty() && std::all_of(token.begin(), token.end(), is_decimal_digit))
    return &find_layer_kind("dense");
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
    if (k.in_arch) out += fmt::format("{}{} {}", out.empty() ? "" : "; ", k.grammar(), k.summary);
  return out;
}

json TorchModule::to_json() const {
  json out{{"name", name}, {"args", args}};
  if (!modules.empty()) {
    json list = json::array();
    for (const TorchModule& m : modules) list.push_back(m.to_json());
    out["modules"] = std::move(list);
  }
  return out;
}

std::string layer_key(const LayerSpec& layer, std::size_t index) {
  if (find_layer_kind(layer.kind).own_namespace) return "";
  return layer.name.empty() ? std::to_string(index) : layer.name;
}

std::string torch_layers_json(const SampleShape& input, const std::vector<LayerSpec>& layers) {
  json modules = json::array();
  SampleShape shape = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const LayerKind& kind = find_layer_kind(l.kind);
    json m = kind.torch(l, shape).to_json();
    if (const std::string key = layer_key(l, i); key != std::to_string(i)) m["key"] = key;
    modules.push_back(std::move(m));
    shape = kind.infer(l, shape).output;
  }
  return json{{"input", input}, {"modules", modules}}.dump();
}

}  // namespace bend::nn
