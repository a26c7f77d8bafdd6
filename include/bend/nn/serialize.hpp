#pragma once
// Saving and loading models as .safetensors: the state dict under PyTorch's names (so
// safetensors.torch.load_file + nn.Sequential.load_state_dict accept the file unchanged), with the
// architecture (the model spec: bend.arch, bend.act, bend.norm, bend.dropout, bend.layers) in the
// metadata so that the file alone rebuilds the model.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bend/nn/model_spec.hpp"

namespace bend::nn {

using Metadata = std::map<std::string, std::string>;

// Writes the tensors under their names, in the given order, with `metadata` in the header; atomically
// (a failed save leaves any previous file intact).
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata);
// Reads every tensor (validated; see bend/io/safetensors.hpp), in file order.
NamedTensors load_tensors(const std::filesystem::path& path, Metadata* metadata = nullptr);

// Any model spec's Sequential: its state dict plus the spec's metadata and `extra`.
void save_model(const std::filesystem::path& path, const Sequential& model, const ModelSpec& spec,
                Metadata extra = {});

struct LoadedModel {
  Sequential model;
  ModelSpec spec;
  Metadata metadata;
};
// Rebuilds the model from the file's metadata (bend.arch, bend.act, bend.norm, bend.dropout; files
// written before model specs, with bend.arch "784-256-10", bend.act and bend.dropout only, read as the
// MLPs they hold), or from `fallback` (from --arch/--act) for a file without bend metadata (e.g. written
// from PyTorch). From a checkpoint, which keeps the model's tensors under "model.", only those are read. The
// metadata is validated and the spec's parameter and buffer count checked against the values the file holds
// before anything is allocated; then every tensor's name and shape (load_state_dict, strict).
// bend::ValueError otherwise.
LoadedModel load_model(const std::filesystem::path& path,
                       const std::optional<ModelSpec>& fallback = std::nullopt);
// The same from the bytes of a file held in memory; `name_for_errors` stands for the file name.
LoadedModel parse_model(std::span<const std::uint8_t> bytes, std::string_view name_for_errors,
                        const std::optional<ModelSpec>& fallback = std::nullopt);

}  // namespace bend::nn
