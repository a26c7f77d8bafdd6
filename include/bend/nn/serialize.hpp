#pragma once
// Saving and loading models as .safetensors: the state dict under PyTorch's names (so
// safetensors.torch.load_file + nn.Sequential.load_state_dict accept the file unchanged), with the
// architecture in the metadata so that the file alone rebuilds an MLP.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bend/nn/mlp.hpp"
#include "bend/nn/model_spec.hpp"

namespace bend::nn {

using Metadata = std::map<std::string, std::string>;

// Writes the tensors under their names, in the given order, with `metadata` in the header; atomically
// (a failed save leaves any previous file intact).
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata);
// Reads every tensor (validated; see bend/io/safetensors.hpp), in file order.
NamedTensors load_tensors(const std::filesystem::path& path, Metadata* metadata = nullptr);

// An MLP's state dict (parameters and buffers, Module::state_dict) plus its spec and `extra` metadata.
void save_mlp(const std::filesystem::path& path, const Sequential& model, const MlpSpec& spec,
              Metadata extra = {});

struct LoadedMlp {
  Sequential model;
  MlpSpec spec;
  Metadata metadata;
};
// Rebuilds the MLP from the file's metadata; a file without bend metadata (e.g. written from PyTorch)
// needs `fallback` (from --arch/--act). From a checkpoint, which keeps the model's tensors under
// "model.", only those are read (without the prefix).
// The metadata is validated and the architecture checked against the number of values the file
// holds before anything is allocated (bend::ValueError otherwise).
LoadedMlp load_mlp(const std::filesystem::path& path, const std::optional<MlpSpec>& fallback = std::nullopt);
// The same from the bytes of a file held in memory; `name_for_errors` stands for the file name.
LoadedMlp parse_mlp(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                    const std::optional<MlpSpec>& fallback = std::nullopt);

// Any model spec's Sequential: its state dict plus the spec's metadata and `extra`.
void save_model(const std::filesystem::path& path, const Sequential& model, const ModelSpec& spec,
                Metadata extra = {});

struct LoadedModel {
  Sequential model;
  ModelSpec spec;
  Metadata metadata;
};
// load_mlp for any model spec: rebuilds the model from the file's metadata (bend.arch, bend.act,
// bend.norm, bend.dropout; files written before model specs read as the MLPs they hold), or from
// `fallback` for a file without bend metadata. The metadata is validated and the spec's parameter and
// buffer count checked against the values the file holds before anything is allocated; then every
// tensor's name and shape (load_state_dict, strict). bend::ValueError otherwise.
LoadedModel load_model(const std::filesystem::path& path,
                       const std::optional<ModelSpec>& fallback = std::nullopt);
LoadedModel parse_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                        const std::optional<ModelSpec>& fallback = std::nullopt);

}  // namespace bend::nn
