// Module: parameter and buffer registration, naming, state dicts, modes.
#include "bend/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <typeinfo>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::nn {

std::string Module::type_name() const {
  // The dynamic type's demangled name, namespaces and template arguments stripped:
  // "bend::nn::Linear" -> "Linear", "(anonymous namespace)::Net" -> "Net".
  const char* mangled = typeid(*this).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                   std::free);
  std::string name = status == 0 && demangled ? demangled.get() : mangled;
  if (const auto bracket = name.find('<'); bracket != std::string::npos) name.erase(bracket);
  if (const auto colons = name.rfind("::"); colons != std::string::npos) name.erase(0, colons + 2);
  return name;
}

namespace {
bool has_name(const NamedTensors& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
}
}  // namespace

Tensor Module::register_parameter(std::string name, Tensor value) {
  if (has_name(params_, name) || has_name(buffers_, name))
    throw ValueError(fmt::format("{}: '{}' registered twice", type_name(), name));
  value.requires_grad_(true);
  params_.emplace_back(std::move(name), value);
  return value;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  if (has_name(params_, name) || has_name(buffers_, name))
    throw ValueError(fmt::format("{}: '{}' registered twice", type_name(), name));
  if (!value.defined()) throw ValueError(fmt::format("{}: buffer '{}' is undefined", type_name(), name));
  buffers_.emplace_back(std::move(name), value);
  return value;
}

void Module::register_module(std::string name, std::shared_ptr<Module> child) {
  if (!child)
    throw ValueError(
        fmt::format("{}: register_module('{}') was given no module (a null pointer or an empty "
                    "ModuleHolder)",
                    type_name(), name));
  children_.emplace_back(std::move(name), std::move(child));
}

void Module::collect(const std::string& prefix, Collect what, NamedTensors& out) const {
  if (what != Collect::Buffers)
    for (const auto& [name, p] : params_) out.emplace_back(prefix + name, p);
  if (what != Collect::Parameters)
    for (const auto& [name, b] : buffers_) out.emplace_back(prefix + name, b);
  // A child registered with an empty name keeps its tensors in this module's namespace.
  for (const auto& [name, child] : children_)
    child->collect(name.empty() ? prefix : prefix + name + ".", what, out);
}

// A tensor registered under two names (a tied weight: GPT's lm_head.weight is transformer.wte.weight)
// is listed once, under its first name, as torch's named_parameters() does; state_dict() keeps both.
NamedTensors Module::named_parameters() const {
  NamedTensors all;
  collect("", Collect::Parameters, all);
  NamedTensors out;
  out.reserve(all.size());
  for (auto& entry : all)
    if (std::none_of(out.begin(), out.end(),
                     [&](const auto& kept) { return kept.second.impl() == entry.second.impl(); }))
      out.push_back(std::move(entry));
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", Collect::Buffers, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", Collect::State, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

// Walks the tree in place: parameters() would build a vector (and named_parameters() strings) every
// step.
void Module::zero_grad() {
  for (auto& [name, p] : params_) p.zero_grad();
  for (auto& [name, child] : children_) child->zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  on_mode_change(on);
  for (auto& [name, child] : children_) child->train(on);
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  const NamedTensors mine = state_dict();
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) given[name] = &t;
  std::vector<std::string> missing, mismatched;
  for (const auto& [name, t] : mine) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    if (!(it->second->shape() == t.shape()))
      mismatched.push_back(
          fmt::format("{}: file has {}, model has {}", name, it->second->shape().str(), t.shape().str()));
  }
  std::vector<std::string> unexpected;
  for (const auto& entry : state) {  // (clang 14 cannot capture a structured binding in a lambda)
    const std::string& name = entry.first;
    if (std::none_of(mine.begin(), mine.end(), [&](const auto& m) { return m.first == name; }))
      unexpected.push_back(name);
  }
  std::string problems;
  if (!mismatched.empty()) problems += fmt::format("size mismatch for {}. ", fmt::join(mismatched, "; "));
  if (strict && !missing.empty()) problems += fmt::format("Missing key(s): {}. ", fmt::join(missing, ", "));
  if (strict && !unexpected.empty())
    problems += fmt::format("Unexpected key(s): {}. ", fmt::join(unexpected, ", "));
  if (!problems.empty())
    throw ValueError(
        fmt::format("load_state_dict into {}: {}", type_name(), problems.substr(0, problems.size() - 1)));
  for (auto [name, t] : mine)
    if (auto it = given.find(name); it != given.end()) t.copy_from(*it->second);
}

}  // namespace bend::nn
