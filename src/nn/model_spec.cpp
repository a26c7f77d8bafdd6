// Model specs: the --arch grammar, its expansion into modules, shape inference, metadata and the builder.
#include "bend/nn/model_spec.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/layer_table.hpp"

namespace bend::nn {
namespace {

constexpr std::int64_t kMaxDim = 1'000'000'000;

// The table's name for `name` ("swiglu" and "none", no activation, stay themselves); throws for an
// unknown name, resolves aliases.
std::string canonical_activation(std::string_view name) {
  if (name == "swiglu" || name == "none") return std::string(name);
  return std::string(activation(name).name);
}

// `s` cut at every `sep` ("a-b--c" -> "a", "b", "", "c"); one part when there is none.
std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// A file's metadata value for `key`; empty when absent.
std::string metadata_value(const std::map<std::string, std::string>& metadata, const char* key) {
  const auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

// bend.dropout from a file's metadata (0 when absent); ValueError unless a probability in [0, 1).
float dropout_from_metadata(const std::map<std::string, std::string>& metadata) {
  float dropout = 0.0f;
  if (const std::string d = metadata_value(metadata, "bend.dropout"); !d.empty()) {
    const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), dropout);
    if (ec != std::errc() || end != d.data() + d.size() || !(dropout >= 0.0f && dropout < 1.0f))
      throw ValueError(fmt::format("model metadata: bend.dropout \"{}\" is not a probability in [0, 1)", d));
  }
  return dropout;
}

// "292 GiB", "1.5 MiB": a byte count for a message.
std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 6) bytes /= 1024.0, ++unit;
  return unit == 0 ? fmt::format("{:.0f} bytes", bytes) : fmt::format("{:.3g} {}", bytes, kUnits[unit]);
}

// Physical memory of this machine in bytes (0 when unknown).
double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0.0;
}

// A layer of the kind `kind` with `args` (the rest at the entry's defaults).
LayerSpec layer_of(std::string_view kind, LayerArgs args = {}) {
  return find_layer_kind(kind).layer(std::move(args));
}

// A module name of --arch "token:name": a letter, then letters, digits or '_'.
bool valid_module_name(std::string_view s) {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  return !s.empty() && letter(s[0]) && std::all_of(s.begin(), s.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '_';
  });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "1x28x28" (or "28x28", one channel) or "784"; nullopt when the token is not an input shape.
std::optional<SampleShape> read_input_token(std::string_view token, std::string_view arch) {
  if (token.empty() || token[0] < '0' || token[0] > '9') return std::nullopt;
  const auto parts = split_on(token, 'x');
  if (!std::all_of(parts.begin(), parts.end(), all_digits)) return std::nullopt;
  if (parts.size() > 3)
    throw ValueError(
        fmt::format("--arch '{}': the input '{}' has more than 3 dimensions (expected CxHxW)", arch, token));
  SampleShape shape;
  for (std::string_view p : parts) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    // A flat input may be any size (its weights are checked later); image sides stay below 1e9.
    if (ec != std::errc() || end != p.data() + p.size() || v <= 0 || (parts.size() > 1 && v > kMaxDim))
      throw ValueError(fmt::format(
          "--arch '{}': '{}' is not a positive layer size (expected e.g. 784-256-128-10)", arch, p));
    shape.push_back(v);
  }
  std::int64_t values = 1;
  for (std::int64_t d : shape)
    if (__builtin_mul_overflow(values, d, &values))
      throw ValueError(fmt::format("--arch '{}': the input '{}' has more than 2^63 values", arch, token));
  if (shape.size() == 2) shape.insert(shape.begin(), 1);
  return shape;
}

double values_of(const SampleShape& s) {
  double n = 1.0;
  for (std::int64_t d : s) n *= static_cast<double>(d);
  return n;
}

// Every module's shape for `input`; ValueError naming the module (its token and index) when it does
// not fit. `arch` is the spec as written, for the message.
std::vector<LayerShape> infer(const SampleShape& input, const std::vector<LayerSpec>& layers,
                              std::string_view arch) {
  std::vector<LayerShape> out;
  out.reserve(layers.size());
  SampleShape shape = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerKind& kind = find_layer_kind(layers[i].kind);
    try {
      out.push_back(kind.infer(layers[i], shape));
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("--arch '{}': layer {} ('{}', input {}): {}", arch, i,
                                   kind.token(layers[i]), sample_shape_string(shape), e.what()));
    }
    shape = out.back().output;
  }
  return out;
}

}  // namespace

std::string sample_shape_string(const SampleShape& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

ModelSpec ModelSpec::parse(std::string_view arch, std::string_view acts, std::string_view norm, float dropout,
                           const SampleShape* input) {
  ModelSpec spec;
  const auto tokens = split_on(arch, '-');
  std::size_t first = 0;
  if (auto shape = read_input_token(tokens.front(), arch)) {
    spec.input = *shape;
    first = 1;
  } else if (input != nullptr) {
    spec.input = *input;
  } else {
    throw ValueError(fmt::format(
        "--arch '{}': give the input shape first (e.g. 1x28x28-{}), or train on a dataset", arch, arch));
  }
  if (spec.input.size() == 2 || spec.input.empty())
    throw ValueError(fmt::format("--arch '{}': the input must be flat (784) or an image (1x28x28), got {}",
                                 arch, sample_shape_string(spec.input)));
  for (std::size_t i = first; i < tokens.size(); ++i) {
    std::string_view token = tokens[i];
    std::string name;
    if (const auto colon = token.find(':'); colon != std::string_view::npos) {
      name = std::string(token.substr(colon + 1));
      token = token.substr(0, colon);
      if (!valid_module_name(name))
        throw ValueError(fmt::format(
            "--arch '{}': '{}': the name '{}' is not a module name (a letter, then letters, digits or _)",
            arch, tokens[i], name));
      for (const LayerSpec& earlier : spec.arch)
        if (earlier.name == name)
          throw ValueError(fmt::format("--arch '{}': two layers are named '{}'", arch, name));
    }
    const LayerKind* kind = layer_kind_for_token(token);
    if (token.empty() || kind == nullptr)
      throw ValueError(
          fmt::format("--arch '{}': '{}' is not a layer ({}; or a positive layer size as in "
                      "784-256-128-10)",
                      arch, token, layer_grammar_help()));
    try {
      spec.arch.push_back(kind->parse(token));
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("--arch '{}': {}", arch, e.what()));
    }
    if (!name.empty() && kind->own_namespace)
      throw ValueError(fmt::format("--arch '{}': '{}' takes no name (its parameters keep their own names)",
                                   arch, tokens[i]));
    spec.arch.back().name = std::move(name);
  }
  if (spec.arch.empty())
    throw ValueError(fmt::format("--arch '{}': needs at least an input and an output size", arch));
  if (spec.arch.back().kind != "dense")
    throw ValueError(
        fmt::format("--arch '{}': the last layer must be a dense layer with one output per class "
                    "(e.g. ...-10)",
                    arch));

  // Hidden layers: every conv, every dense layer but the last, and every layer that takes an activation
  // (a transformer layer's feed-forward).
  std::vector<std::size_t> hidden;
  for (std::size_t i = 0; i < spec.arch.size(); ++i)
    if (spec.arch[i].kind == "conv" || (spec.arch[i].kind == "dense" && i + 1 < spec.arch.size()) ||
        find_layer_kind(spec.arch[i].kind).takes_activation)
      hidden.push_back(i);
  const auto names = split_on(acts, ',');
  if (!hidden.empty()) {
    if (names.size() == 1)
      spec.activations.assign(hidden.size(), canonical_activation(names[0]));
    else if (names.size() == hidden.size())
      for (std::string_view n : names) spec.activations.push_back(canonical_activation(n));
    else
      throw ValueError(
          fmt::format("--act '{}': {} names for {} hidden layers (give one, or one per hidden layer)", acts,
                      names.size(), hidden.size()));
  }
  if (norm != "none" && norm != "batch" && norm != "layer")
    throw ValueError(fmt::format("--norm '{}': expected none, batch or layer", norm));
  spec.norm = std::string(norm);
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw ValueError(fmt::format("--dropout must be in [0, 1), got {}", dropout));
  spec.dropout = dropout;

  // The modules: implicit flatten, norm and activation after each hidden layer, dropout after dense ones.
  std::size_t h = 0;
  bool image = spec.input.size() == 3;
  for (std::size_t i = 0; i < spec.arch.size(); ++i) {
    const LayerSpec& layer = spec.arch[i];
    if (layer.kind == "dense" && image) spec.layers.push_back(layer_of("flatten"));
    if (layer.kind == "flatten" || layer.kind == "dense" || layer.kind == "patch") image = false;
    const bool is_hidden = h < hidden.size() && hidden[h] == i;
    if (!is_hidden) {
      spec.layers.push_back(layer);
      continue;
    }
    const std::string& act = spec.activations[h++];
    if (find_layer_kind(layer.kind).takes_activation) {
      const std::string token = find_layer_kind(layer.kind).token(layer);
      if (act == "none")
        throw ValueError(fmt::format("--act none: '{}' needs a feed-forward activation", token));
      if (spec.norm != "none")
        throw ValueError(
            fmt::format("--norm {}: '{}' has its own LayerNorms; use --norm none", spec.norm, token));
      LayerSpec with_act = layer;
      with_act.args["act"] = act;
      spec.layers.push_back(std::move(with_act));
    } else if (act == "swiglu") {
      if (layer.kind != "dense")
        throw ValueError(fmt::format("--act swiglu: only a dense layer can be a SwiGLU block, not '{}'",
                                     find_layer_kind(layer.kind).token(layer)));
      if (spec.norm != "none")
        throw ValueError("--norm: a SwiGLU block has its activation inside; use --norm none with swiglu");
      spec.layers.push_back(layer_of("swiglu", {{"features", layer.whole("features")}}));
      spec.layers.back().name = layer.name;
    } else {
      spec.layers.push_back(layer);
      if (spec.norm == "batch") spec.layers.push_back(layer_of("batchnorm"));
      if (spec.norm == "layer") spec.layers.push_back(layer_of("layernorm"));
      if (act != "none") spec.layers.push_back(layer_of("act", {{"name", act}}));
    }
    if (layer.kind == "dense" && spec.dropout > 0.0f)
      spec.layers.push_back(layer_of("dropout", {{"p", std::stod(fmt::format("{}", spec.dropout))}}));
  }
  infer(spec.input, spec.layers, arch);  // every layer must fit its input
  return spec;
}

ModelSpec ModelSpec::mlp(const std::vector<std::int64_t>& sizes, std::string_view acts, float dropout) {
  return parse(fmt::format("{}", fmt::join(sizes, "-")), acts, "none", dropout);
}

std::string ModelSpec::arch_string() const {
  std::string out = sample_shape_string(input);
  for (const LayerSpec& l : arch)
    out += "-" + find_layer_kind(l.kind).token(l) + (l.name.empty() ? "" : ":" + l.name);
  return out;
}

std::string ModelSpec::act_string() const { return fmt::format("{}", fmt::join(activations, ",")); }

std::string ModelSpec::layers_string() const {
  infer_shapes();  // every layer fits (ValueError naming the one that does not)
  return torch_layers_json(input, layers);
}

std::int64_t ModelSpec::input_features() const {
  std::int64_t n = 1;
  for (std::int64_t d : input) n *= d;  // each dimension is at most 1e9 and there are at most 3
  return n;
}

std::int64_t ModelSpec::outputs() const { return arch.back().whole("features"); }

std::vector<LayerShape> ModelSpec::infer_shapes() const { return infer(input, layers, arch_string()); }

void ModelSpec::check_input(const SampleShape& sample, std::string_view dataset_name) const {
  const bool same_values = values_of(sample) == values_of(input);
  const bool image_fits = input.size() != 3 || sample == input;
  if (!same_values || !image_fits)
    throw ValueError(fmt::format("the model {} takes {} inputs ({} values) but {} has {} samples ({} values)",
                                 arch_string(), sample_shape_string(input), values_of(input), dataset_name,
                                 sample_shape_string(sample), values_of(sample)));
}

std::map<std::string, std::string> ModelSpec::to_metadata() const {
  return {{"bend.arch", arch_string()},
          {"bend.act", act_string()},
          {"bend.dropout", fmt::format("{}", dropout)},
          {"bend.norm", norm},
          {"bend.layers", layers_string()}};
}

bool ModelSpec::has_metadata(const std::map<std::string, std::string>& m) { return m.contains("bend.arch"); }

ModelSpec ModelSpec::from_metadata(const std::map<std::string, std::string>& m) {
  const auto get = [&](const char* key) { return metadata_value(m, key); };
  const float dropout = dropout_from_metadata(m);
  const std::string norm = get("bend.norm").empty() ? "none" : get("bend.norm");
  try {
    return parse(get("bend.arch"), get("bend.act").empty() ? "relu" : get("bend.act"), norm, dropout);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("model metadata (bend.arch \"{}\", bend.act \"{}\", bend.norm \"{}\"): {}",
                                 get("bend.arch"), get("bend.act"), norm, e.what()));
  }
}

void check_model_fits_in_memory(const ModelSpec& spec) {
  const double memory = physical_memory_bytes();
  const std::vector<LayerShape> shapes = spec.infer_shapes();
  double total = 0.0;
  SampleShape in = spec.input;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const double weights =
        (static_cast<double>(shapes[i].parameters) + static_cast<double>(shapes[i].buffers)) *
        static_cast<double>(sizeof(float));
    const double activations = values_of(shapes[i].output) * static_cast<double>(sizeof(float));
    total += weights;
    const std::string where =
        fmt::format("layer {} ({} -> {})", i, sample_shape_string(in), sample_shape_string(shapes[i].output));
    if (shapes[i].parameters < 0 || shapes[i].buffers < 0)
      throw ValueError(fmt::format("{} has more than 2^63 weights", where));
    if (memory > 0.0 && weights > memory)
      throw ValueError(fmt::format("{} needs {} for its weights, more than this machine's {} of memory",
                                   where, human_bytes(weights), human_bytes(memory)));
    if (memory > 0.0 && activations > memory)
      throw ValueError(
          fmt::format("{} needs {} for one sample's output, more than this machine's {} of memory", where,
                      human_bytes(activations), human_bytes(memory)));
    in = shapes[i].output;
  }
  if (memory > 0.0 && total > memory)
    throw ValueError(
        fmt::format("the network {} needs {} for its weights, more than this machine's {} of memory",
                    spec.arch_string(), human_bytes(total), human_bytes(memory)));
}

Sequential build_model(const ModelSpec& spec, init::Scheme scheme, Rng& rng) {
  check_model_fits_in_memory(spec);  // before any allocation: a clear error instead of std::bad_alloc
  Sequential net;
  SampleShape shape = spec.input;
  const std::vector<LayerShape> shapes = spec.infer_shapes();
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    // The activation that follows a weighted layer (after its norm, if any), for the init scheme.
    const ActivationInfo* next = nullptr;
    for (std::size_t j = i + 1; j < spec.layers.size() && j <= i + 2; ++j)
      if (spec.layers[j].kind == "act") {
        next = &activation(spec.layers[j].text("name"));
        break;
      } else if (spec.layers[j].kind != "batchnorm" && spec.layers[j].kind != "layernorm") {
        break;
      }
    LayerBuild context{scheme, next, rng};
    net.push_back(layer_key(spec.layers[i], i),
                  find_layer_kind(spec.layers[i].kind).build(spec.layers[i], shape, context));
    shape = shapes[i].output;
  }
  if (spec.input.size() == 3) net.set_input_shape(spec.input);
  return net;
}

}  // namespace bend::nn
