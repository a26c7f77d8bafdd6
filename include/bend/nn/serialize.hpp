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

}  // namespace bend::nn
