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

// The values a spec's model holds (parameters and buffers); -1 past 2^63.
std::int64_t values_needed(const ModelSpec& spec) {
  std::int64_t needed = 0;
  for (const LayerShape& layer : spec.infer_shapes())
    if (layer.parameters < 0 || layer.buffers < 0 ||
        __builtin_add_overflow(needed, layer.parameters, &needed) ||
        __builtin_add_overflow(needed, layer.buffers, &needed))
      return -1;
  return needed;
}

std::string describe(const ModelSpec& spec) {
  return fmt::format("{} ({}{})", spec.arch_string(), spec.act_string(),
                     spec.norm == "none" ? "" : ", norm " + spec.norm);
}

// The model in a loaded file: its spec from the metadata (or `fallback`), checked against the tensors
// the file holds before the model is built, so a file cannot make bend allocate more than it holds.
LoadedModel model_from_file(SafetensorsFile file, std::string_view name,
                            const std::optional<ModelSpec>& fallback) {
  NamedTensors tensors = to_named_tensors(file);
  Metadata metadata = std::move(file.metadata);
  ModelSpec spec;
  if (auto kind = metadata.find("bend.model"); kind != metadata.end() && kind->second == "gpt")
    throw ValueError(
        fmt::format("{}: holds a GPT language model (bend train --model gpt), not a classifier: "
                    "sample from it with bend generate --model {}",
                    name, name));
  if (ModelSpec::has_metadata(metadata)) try {
      spec = ModelSpec::from_metadata(metadata);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("{}: {}", name, e.what()));
    }
  else if (fallback)
    spec = *fallback;
  else
    throw ValueError(
        fmt::format("{}: the file has no bend architecture metadata; give the architecture with --arch "
                    "and --act (and --norm)",
                    name));
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
  Sequential model = build_model(spec, init::Scheme::Torch, rng);
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
  return model_from_file(load_safetensors(path), path.string(), fallback);
}

LoadedModel parse_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                        const std::optional<ModelSpec>& fallback) {
  return model_from_file(parse_safetensors(bytes, name_for_errors), name_for_errors, fallback);
}

NamedTensors load_tensors(const std::filesystem::path& path, Metadata* metadata) {
  SafetensorsFile file = load_safetensors(path);
  NamedTensors out = to_named_tensors(file);
  if (metadata) *metadata = std::move(file.metadata);
  return out;
}

}  // namespace bend::nn
