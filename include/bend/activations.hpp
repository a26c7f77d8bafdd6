#pragma once
// The activation table: every activation bend knows, one entry each. An entry holds the function's
// value and derivative (as a pointwise kernel), its PyTorch defaults, its init gain and family, and the
// properties the docs compare. The module (nn::Activation), the functional form (activate), the CLI
// names, the tests and `bend compare` all read this table; adding an activation is adding an entry in
// src/activations.cpp. The functional forms (relu, gelu, ...) are declared with the other ops in
// bend/ops.hpp.
#include <span>
#include <string>
#include <string_view>

#include "bend/ops.hpp"
#include "bend/pointwise.hpp"

namespace bend {

// Which initialisation suits a layer followed by this activation (`--init auto`).
enum class InitFamily {
  He,      // the ReLU family: kaiming, fan_in, gain from calculate_gain
  LeCun,   // SELU: normal(0, 1/fan_in)
  Xavier,  // saturating functions: sigmoid, tanh, softsign, ...
};

struct ActivationProperties {
  bool bounded_below = false;
  bool bounded_above = false;
  bool monotone = true;
  bool smooth = true;         // continuously differentiable everywhere
  bool zero_centred = false;  // f(0) = 0 and takes both signs
  bool saturating = false;    // derivative -> 0 in at least one tail
};

struct ActivationInfo {
  std::string_view name;            // functional / CLI name in lower case: "relu", "leaky_relu", "gelu_tanh"
  std::string_view module_name;     // the torch.nn class: "ReLU", "LeakyReLU", "GELU"
  std::string_view formula;         // for reports: "max(0, x)"
  PointwiseKernel kernel;           // value and derivative
  PointwiseParams defaults;         // PyTorch's default parameters
  std::string_view param_names[3];  // names of defaults.a/b/c ("negative_slope", ...); empty if unused
  InitFamily init_family;
  // torch.nn.init.calculate_gain for this nonlinearity (1 where PyTorch has no entry, as it does).
  float (*gain)(const PointwiseParams& params);
  // The largest value of f' (for the saturation diagnostic: a unit is saturated where f'(x) < 5% of it).
  float max_derivative;
  ActivationProperties properties;
  bool learnable = false;  // PReLU: the slope is a parameter (its kernel here uses the fixed default)
  bool in_docs_table =
      false;  // one of the docs' comparison set (sigmoid, tanh, relu, leaky_relu, gelu, silu)
};

// Every entry, in a stable order (the docs' table first).
std::span<const ActivationInfo> activation_table();
// The entry for a functional name (case-insensitive; "swish" is "silu"); throws ValueError listing the
// valid names.
const ActivationInfo& activation(std::string_view name);
// Comma-separated list of the valid names, for help texts and errors.
std::string activation_names();

// f(x) with the entry's kernel, recorded on the tape. Parameters default to PyTorch's.
Tensor activate(const Tensor& x, const ActivationInfo& info);
Tensor activate(const Tensor& x, const ActivationInfo& info, const PointwiseParams& params);

}  // namespace bend
