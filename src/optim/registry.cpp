// The optimizer table: one entry per optimizer, its options copied from the optimizer's option table
// (defaults as in PyTorch 1.13, except SGD's lr, which PyTorch requires; bend uses 0.01).
#include "bend/optim/registry.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/rmsprop.hpp"
#include "bend/optim/sgd.hpp"

namespace bend::optim {
namespace {

// The entry of optimizer class `Opt` (constructible from its Options), its options read from `table`.
template <class Opt, class Options>
OptimizerEntry entry(std::string name, std::string summary, const OptionTable<Options>& table) {
  OptimizerEntry e;
  e.name = std::move(name);
  e.summary = std::move(summary);
  for (const OptionField<Options>& f : table.fields)
    e.options.push_back({std::string(f.name), f.get(table.defaults), std::string(f.help), f.is_flag()});
  e.make = [&table, owner = e.name](std::vector<Tensor> params,
                                    const OptimizerOptions& values) -> std::unique_ptr<Optimizer> {
    return std::make_unique<Opt>(std::move(params), table.with(table.defaults, values, owner));
  };
  return e;
}

std::vector<OptimizerEntry> build_registry() {
  return {
      entry<SGD>("sgd", "stochastic gradient descent, with optional (Nesterov) momentum and weight decay",
                 SGD::table()),
      entry<Adam>("adam", "Adam: per-parameter steps from running means of the gradient and its square",
                  Adam::table()),
      entry<AdamW>("adamw", "AdamW: Adam with decoupled weight decay (p *= 1 - lr*weight_decay each step)",
                   AdamW::table()),
      entry<RMSprop>("rmsprop",
                     "RMSprop: divides the gradient by a running root mean square, optionally centered",
                     RMSprop::table()),
  };
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

}  // namespace bend::optim
