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

NamedTensors load_tensors(const std::filesystem::path& path, Metadata* metadata) {
  SafetensorsFile file = load_safetensors(path);
  NamedTensors out;
  for (auto& t : file.tensors) out.emplace_back(t.name, Tensor::from(t.data, Shape(t.shape)));
  if (metadata) *metadata = std::move(file.metadata);
  return out;
}

void save_mlp(const std::filesystem::path& path, const Sequential& model, const MlpSpec& spec,
              Metadata extra) {
  Metadata metadata = spec.to_metadata();
  metadata["format"] = "pt";
  metadata.merge(extra);
  save_tensors(path, model.state_dict(), metadata);
}

LoadedMlp load_mlp(const std::filesystem::path& path, const std::optional<MlpSpec>& fallback) {
  Metadata metadata;
  NamedTensors tensors = load_tensors(path, &metadata);
  MlpSpec spec;
  if (MlpSpec::has_metadata(metadata))
    spec = MlpSpec::from_metadata(metadata);
  else if (fallback)
    spec = *fallback;
  else
    throw ValueError(
        fmt::format("{}: the file has no bend architecture metadata; give the architecture with --arch "
                    "and --act",
                    path.string()));
  // A checkpoint keeps the model under "model."; a model file has the bare names.
  NamedTensors model_tensors;
  for (auto& [name, t] : tensors)
    if (name.starts_with("model.")) model_tensors.emplace_back(name.substr(6), t);
  if (model_tensors.empty()) model_tensors = std::move(tensors);
  Rng rng(0);
  Sequential model = build_mlp(spec, init::Scheme::Torch, rng);
  try {
    model.load_state_dict(model_tensors);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: does not fit the architecture {} ({}): {}", path.string(),
                                 spec.arch_string(), spec.act_string(), e.what()));
  }
  return {std::move(model), std::move(spec), std::move(metadata)};
}

}  // namespace bend::nn
