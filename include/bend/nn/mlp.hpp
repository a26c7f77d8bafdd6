#pragma once
// MLPs from a spec: "784-256-128-10" with one activation per hidden layer, the network the docs and
// `bend train` use. The spec travels in a saved model's metadata, so the file alone rebuilds the model.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bend/nn/init.hpp"
#include "bend/nn/sequential.hpp"

namespace bend::nn {

struct MlpSpec {
  std::vector<std::int64_t> sizes;       // input, hidden..., output
  std::vector<std::string> activations;  // one per hidden layer: a table name, or "swiglu"
  float dropout = 0.0f;                  // after each hidden activation when > 0

  // "784-256-128-10" and "relu" (one for all hidden layers) or "relu,gelu" (one each).
  static MlpSpec parse(std::string_view arch, std::string_view acts, float dropout = 0.0f);
  std::string arch_string() const;  // "784-256-128-10"
  std::string act_string() const;   // "relu,relu"
  std::int64_t hidden_layers() const { return static_cast<std::int64_t>(sizes.size()) - 2; }

  // Metadata keys bend writes into .safetensors files ("bend.arch", "bend.act", "bend.dropout").
  std::map<std::string, std::string> to_metadata() const;
  static bool has_metadata(const std::map<std::string, std::string>& metadata);
  // Throws bend::ValueError naming the key when a value does not parse (e.g. bend.dropout "abc").
  static MlpSpec from_metadata(const std::map<std::string, std::string>& metadata);

  // Parameters of each Linear (or SwiGLU) block, in order; -1 for a block whose count overflows 63 bits.
  std::vector<std::int64_t> parameters_per_block() const;
};

// Throws bend::ValueError saying which layer needs how much ("layer 1 (784 -> 99999999999) needs
// 292 TiB for its weights, ...") when the weights cannot fit in this machine's physical memory.
// build_mlp calls it before allocating anything.
void check_mlp_fits_in_memory(const MlpSpec& spec);

// Linear -> activation (-> Dropout) per hidden layer, then the output Linear; a "swiglu" hidden layer
// is one SwiGLU block. Layer weights are initialised with `scheme` (see init::init_linear).
Sequential build_mlp(const MlpSpec& spec, init::Scheme scheme, Rng& rng);

}  // namespace bend::nn
