#pragma once
// check_module: the conformance checks every module must pass (as dlib's test_layer), runnable on a
// module of your own. One ModuleCase says how to build the module and what to feed it; check_module
// then checks, on fresh instances:
//
//   gradients   finite differences (bend::gradcheck) against the tape for every input that requires grad
//               and every parameter, one tensor at a time, in training mode (and in eval mode too when
//               the output depends on the mode); each checked gradient must also be non-zero. Inputs are
//               first moved off kinks: an element where the forward's one-sided slopes differ (ReLU at
//               0, Hardtanh at ±1, a jump) is shifted until they agree, as are elements near `kinks`.
//   state dict  state_dict() names equal `state_names` (PyTorch's names, in PyTorch's order); parameters
//               require grad and buffers do not; the state (values perturbed, so that they differ from
//               any fresh init) saved to .safetensors with nn::save_tensors and loaded into a fresh
//               instance with load_state_dict gives bit-identical state and outputs.
//   modes       train()/eval() reach every descendant; eval-mode outputs are deterministic; the
//               training-mode output differs from the eval-mode one exactly when `mode_dependent`.
//   memory      after warm-up steps, a step of forward, backward and zero_grad makes no tensor
//               allocation (bend's caches) and, when `heap_allocations` is given, no heap allocation.
//
// The result lists every failure with the check and the tensor it concerns, e.g.
//   "[gradient] parameter 'weight': gradcheck: input 0 (shape [3, 4]) ... analytic 1.2 vs numerical 0.7".
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bend/gradcheck.hpp"
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend::testing {

struct ModuleCase {
  std::string name{};  // for messages: "Linear", "Activation(gelu_tanh)"
  // A fresh instance whose random initialisation is drawn from `rng` (modules without random state may
  // ignore it). Called several times.
  std::function<std::shared_ptr<nn::Module>(Rng& rng)> make{};
  // Example inputs; those that require grad are gradient-checked. Copied, never modified.
  std::vector<Tensor> inputs{};
  // The forward to check, for modules whose call is not Tensor -> Tensor (targets, several inputs, an
  // output struct) or that need a fixed random stream (Dropout: reseed its Rng so that repeated calls
  // draw the same mask). Must return a tensor recorded on the tape. Default: module.forward(inputs[0]).
  std::function<Tensor(nn::Module& module, const std::vector<Tensor>& inputs)> forward{};
  // The expected state_dict() names, in order: torch.nn's names for the PyTorch equivalent.
  std::vector<std::string> state_names{};
  // True when the training-mode output differs from the eval-mode one (Dropout, batch statistics).
  bool mode_dependent = false;
  // Input values to stay at least `kink_margin` away from, on top of the kinks found automatically.
  std::vector<float> kinks{};
  float kink_margin = 0.05f;
  // Parameters that legitimately receive no gradient from these inputs (by state_dict name); all others
  // must get a non-zero one.
  std::vector<std::string> no_gradient{};
  GradcheckOptions gradcheck{};
};

struct CheckModuleOptions {
  // A counter of heap allocations in this process (e.g. a replaced global operator new); the steady-step
  // check then also asserts that it does not move. Without it only bend's tensor caches are watched.
  std::function<std::uint64_t()> heap_allocations;
  int warmup_steps = 3;
  int measured_steps = 5;
  // Where the round-trip file is written (and removed); default: the system's temporary directory.
  std::filesystem::path scratch_dir;
  std::uint64_t seed = 42;
};

struct CheckModuleResult {
  std::vector<std::string> failures;  // "[check] what: detail", empty when everything passed
  int checks_run = 0;                 // individual assertions made (so that "nothing was checked" shows)
  bool ok() const { return failures.empty(); }
  explicit operator bool() const { return ok(); }
  std::string report() const;  // the case name, then one failure per line
  std::string name;
};

CheckModuleResult check_module(const ModuleCase& module_case, const CheckModuleOptions& options = {});

// Every module in the tree (the module itself first, then its descendants depth-first), with its
// state_dict prefix ("" for the root, "0.", "tail.1.").
std::vector<std::pair<std::string, nn::Module*>> all_modules(nn::Module& root);

}  // namespace bend::testing
