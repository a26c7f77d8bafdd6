// Models to and from .safetensors.
#include "bend/nn/serialize.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/io/safetensors.hpp"

namespace bend::nn {

void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata) {
  std::vector<std::vector<std::int64_t>> shapes;
  shapes.reserve(tensors.size());
  std::vector<SafetensorsView> views;
  for (const auto& [name, t] : tensors) {
    auto dims = t.shape().dims();
    shapes.emplace_back(dims.begin(), dims.end());
    views.push_back({name, shapes.back(), t.data()});
  }
  save_safetensors(path, views, metadata);
}

namespace {

NamedTensors to_named_tensors(SafetensorsFile& file) {
  NamedTensors out;
  for (auto& t : file.tensors) out.emplace_back(t.name, Tensor::from(t.data, Shape(t.shape)));
  return out;
}

// A checkpoint keeps the model under "model."; a model file has the bare names.
NamedTensors model_part(NamedTensors tensors) {
  NamedTensors model_tensors;
  for (auto& [tensor_name, t] : tensors)
    if (tensor_name.starts_with("model.")) model_tensors.emplace_back(tensor_name.substr(6), t);
  if (model_tensors.empty()) model_tensors = std::move(tensors);
  return model_tensors;
}

// What loading needs to know of each kind of spec: the values its model holds (parameters and
// buffers; -1 past 2^63), how messages name it, the flags that give it, and how to build it.
std::int64_t values_needed(const MlpSpec& spec) {
  std::int64_t needed = 0;
  for (const std::int64_t count : spec.parameters_per_block())
    if (count < 0 || __builtin_add_overflow(needed, count, &needed)) return -1;
  return needed;
}
std::int64_t values_needed(const ModelSpec& spec) {
  std::int64_t needed = 0;
  for (const LayerShape& layer : spec.infer_shapes())
    if (layer.parameters < 0 || layer.buffers < 0 ||
        __builtin_add_overflow(needed, layer.parameters, &needed) ||
        __builtin_add_overflow(needed, layer.buffers, &needed))
      return -1;
  return needed;
}
std::string describe(const MlpSpec& spec) {
  return fmt::format("{} ({})", spec.arch_string(), spec.act_string());
}
std::string describe(const ModelSpec& spec) {
  return fmt::format("{} ({}{})", spec.arch_string(), spec.act_string(),
                     spec.norm == "none" ? "" : ", norm " + spec.norm);
}
constexpr std::string_view flags_for(const MlpSpec*) { return "--arch and --act"; }
constexpr std::string_view flags_for(const ModelSpec*) { return "--arch and --act (and --norm)"; }
Sequential build(const MlpSpec& spec, Rng& rng) { return build_mlp(spec, init::Scheme::Torch, rng); }
Sequential build(const ModelSpec& spec, Rng& rng) { return build_model(spec, init::Scheme::Torch, rng); }

// The model in a loaded file: its spec from the metadata (or `fallback`), checked against the tensors
// the file holds before the model is built, so a file cannot make bend allocate more than it holds.
template <class Loaded, class Spec>
Loaded model_from_file(SafetensorsFile file, std::string_view name, const std::optional<Spec>& fallback) {
  NamedTensors tensors = to_named_tensors(file);
  Metadata metadata = std::move(file.metadata);
  Spec spec;
  if (Spec::has_metadata(metadata)) try {
      spec = Spec::from_metadata(metadata);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: {}", name, e.what()));
    }
  else if (fallback)
    spec = *fallback;
  else
    throw ValueError(
        fmt::format("{}: the file has no bend architecture metadata; give the architecture with {}", name,
                    flags_for(&spec)));
  NamedTensors model_tensors = model_part(std::move(tensors));
  std::int64_t held = 0;
  for (const auto& [tensor_name, t] : model_tensors) held += t.numel();  // each fits: it was read
  const std::int64_t needed = values_needed(spec);
  const std::string described = describe(spec);
  if (needed < 0 || needed > held)
    throw ValueError(fmt::format(
        "{}: does not fit the architecture {}: its layers' parameters and buffers need {} values but "
        "the file holds {}",
        name, described, needed < 0 ? std::string("more than 2^63") : std::to_string(needed), held));
  Rng rng(0);
  Sequential model = build(spec, rng);
  try {
    model.load_state_dict(model_tensors);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: does not fit the architecture {}: {}", name, described, e.what()));
  }
  return {std::move(model), std::move(spec), std::move(metadata)};
}

// A model's state_dict with its spec's metadata (and "format": "pt", as torch's safetensors writes),
// plus `extra` keys where the spec has none.
void save_described(const std::filesystem::path& path, const Sequential& model, Metadata metadata,
                    Metadata extra) {
  metadata["format"] = "pt";
  metadata.merge(extra);
  save_tensors(path, model.state_dict(), metadata);
}

}  // namespace

void save_model(const std::filesystem::path& path, const Sequential& model, const ModelSpec& spec,
                Metadata extra) {
  save_described(path, model, spec.to_metadata(), std::move(extra));
}

LoadedModel load_model(const std::filesystem::path& path, const std::optional<ModelSpec>& fallback) {
  return model_from_file<LoadedModel>(load_safetensors(path), path.string(), fallback);
}

LoadedModel parse_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                        const std::optional<ModelSpec>& fallback) {
  return model_from_file<LoadedModel>(parse_safetensors(bytes, name_for_errors), name_for_errors, fallback);
}

NamedTensors load_tensors(const std::filesystem::path& path, Metadata* metadata) {
  SafetensorsFile file = load_safetensors(path);
  NamedTensors out = to_named_tensors(file);
  if (metadata) *metadata = std::move(file.metadata);
  return out;
}

void save_mlp(const std::filesystem::path& path, const Sequential& model, const MlpSpec& spec,
              Metadata extra) {
  save_described(path, model, spec.to_metadata(), std::move(extra));
}

LoadedMlp load_mlp(const std::filesystem::path& path, const std::optional<MlpSpec>& fallback) {
  return model_from_file<LoadedMlp>(load_safetensors(path), path.string(), fallback);
}

LoadedMlp parse_mlp(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                    const std::optional<MlpSpec>& fallback) {
  return model_from_file<LoadedMlp>(parse_safetensors(bytes, name_for_errors), name_for_errors, fallback);
}

}  // namespace bend::nn
