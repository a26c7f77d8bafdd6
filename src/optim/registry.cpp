// The optimizer table: one entry per optimizer, defaults as in PyTorch 1.13 (except SGD's lr, which
// PyTorch requires; bend uses 0.01), options in PyTorch's keyword order after lr.
#include "bend/optim/registry.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/rmsprop.hpp"
#include "bend/optim/sgd.hpp"

namespace bend {
namespace {

bool flag(const OptimizerOptions& o, const std::string& key) { return o.at(key) != 0.0; }

AdamOptions adam_options(const OptimizerOptions& o) {
  return {o.at("lr"), {o.at("beta1"), o.at("beta2")}, o.at("eps"), o.at("weight_decay"), flag(o, "amsgrad")};
}

std::vector<OptimizerOption> adam_family_options(double weight_decay, std::string weight_decay_help) {
  return {
      {"lr", 1e-3, "learning rate"},
      {"beta1", 0.9, "decay of the running mean of gradients (PyTorch's betas[0])"},
      {"beta2", 0.999, "decay of the running mean of squared gradients (PyTorch's betas[1])"},
      {"eps", 1e-8, "added to the denominator's square root, for stability"},
      {"weight_decay", weight_decay, std::move(weight_decay_help)},
      {"amsgrad", 0, "AMSGrad: divide by the largest second moment seen so far", true},
  };
}

std::vector<OptimizerEntry> build_registry() {
  std::vector<OptimizerEntry> r;
  r.push_back({"sgd",
               "stochastic gradient descent, with optional (Nesterov) momentum and weight decay",
               {
                   {"lr", 0.01, "learning rate (PyTorch requires one; bend's default is 0.01)"},
                   {"momentum", 0, "momentum factor (0: none)"},
                   {"dampening", 0, "dampening of the momentum's gradient term"},
                   {"weight_decay", 0, "L2 penalty: adds weight_decay*p to the gradient"},
                   {"nesterov", 0, "Nesterov momentum (needs momentum > 0 and dampening 0)", true},
               },
               [](std::vector<Tensor> params, const OptimizerOptions& o) -> std::unique_ptr<Optimizer> {
                 return std::make_unique<SGD>(std::move(params),
                                              SgdOptions{o.at("lr"), o.at("momentum"), o.at("dampening"),
                                                         flag(o, "nesterov"), o.at("weight_decay")});
               }});
  r.push_back({"adam", "Adam: per-parameter steps from running means of the gradient and its square",
               adam_family_options(0, "L2 penalty: adds weight_decay*p to the gradient"),
               [](std::vector<Tensor> params, const OptimizerOptions& o) -> std::unique_ptr<Optimizer> {
                 return std::make_unique<Adam>(std::move(params), adam_options(o));
               }});
  r.push_back({"adamw", "AdamW: Adam with decoupled weight decay (p *= 1 - lr*weight_decay each step)",
               adam_family_options(1e-2, "decoupled weight decay: p *= 1 - lr*weight_decay"),
               [](std::vector<Tensor> params, const OptimizerOptions& o) -> std::unique_ptr<Optimizer> {
                 return std::make_unique<AdamW>(std::move(params), adam_options(o));
               }});
  r.push_back({"rmsprop",
               "RMSprop: divides the gradient by a running root mean square, optionally centered",
               {
                   {"lr", 0.01, "learning rate"},
                   {"alpha", 0.99, "decay of the running mean of squared gradients"},
                   {"eps", 1e-8, "added to the root mean square, for stability"},
                   {"weight_decay", 0, "L2 penalty: adds weight_decay*p to the gradient"},
                   {"momentum", 0, "momentum factor (0: none)"},
                   {"centered", 0, "divide by the gradient's estimated standard deviation instead", true},
               },
               [](std::vector<Tensor> params, const OptimizerOptions& o) -> std::unique_ptr<Optimizer> {
                 return std::make_unique<RMSprop>(
                     std::move(params),
                     RmspropOptions{o.at("lr"), o.at("alpha"), o.at("eps"), o.at("weight_decay"),
                                    o.at("momentum"), flag(o, "centered")});
               }});
  return r;
}

}  // namespace

const OptimizerOption* OptimizerEntry::find_option(std::string_view option_name) const {
  for (const OptimizerOption& o : options)
    if (o.name == option_name) return &o;
  return nullptr;
}

OptimizerOptions OptimizerEntry::defaults() const {
  OptimizerOptions values;
  for (const OptimizerOption& o : options) values[o.name] = o.default_value;
  return values;
}

std::string OptimizerEntry::option_names() const {
  std::string names;
  for (const OptimizerOption& o : options) names += (names.empty() ? "" : ", ") + o.name;
  return names;
}

const std::vector<OptimizerEntry>& optimizer_registry() {
  static const std::vector<OptimizerEntry> registry = build_registry();
  return registry;
}

const OptimizerEntry& find_optimizer(std::string_view name) {
  for (const OptimizerEntry& e : optimizer_registry())
    if (e.name == name) return e;
  throw ValueError(fmt::format("unknown optimizer '{}'; valid names: {}", name, optimizer_names()));
}

std::string optimizer_names() {
  std::string names;
  for (const OptimizerEntry& e : optimizer_registry()) names += (names.empty() ? "" : ", ") + e.name;
  return names;
}

OptimizerOptions complete_options(const OptimizerEntry& entry, const OptimizerOptions& given) {
  for (const auto& [key, value] : given) {
    const OptimizerOption* option = entry.find_option(key);
    if (!option)
      throw ValueError(
          fmt::format("--opt {} has no option '{}' (it takes {})", entry.name, key, entry.option_names()));
    if (!std::isfinite(value))
      throw ValueError(fmt::format("--opt {}: option '{}' = {} must be finite", entry.name, key, value));
    if (option->is_flag && value != 0.0 && value != 1.0)
      throw ValueError(
          fmt::format("--opt {}: option '{}' is a flag, 0 or 1 (got {})", entry.name, key, value));
  }
  OptimizerOptions complete = entry.defaults();
  for (const auto& [key, value] : given) complete[key] = value;
  // The optimizer's own checks (ranges, combinations such as Nesterov without momentum), on a scratch
  // parameter, so a bad option fails before any data is loaded.
  try {
    entry.make({Tensor::zeros({1}).requires_grad_()}, complete);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("--opt {}: {}", entry.name, e.what()));
  }
  return complete;
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerOptions& given) {
  const OptimizerEntry& entry = find_optimizer(name);
  return entry.make(std::move(params), complete_options(entry, given));
}

}  // namespace bend
