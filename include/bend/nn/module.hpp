#pragma once
// Module: the base of every layer, as torch.nn.Module. A module registers its parameters, buffers and
// child modules once, by name; named_parameters() and named_buffers() walk the tree and join names with
// dots ("0.weight", "1.bias"; a buffer "running_mean" of child 2 is "2.running_mean"), so state dicts
// line up with PyTorch's.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bend/tensor.hpp"

namespace bend::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

template <class M>
class ModuleHolder;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) = default;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // The class name ("Linear") and a one-line description ("Linear(in_features=784, out_features=256,
  // bias=True)"). By default the C++ class name without namespaces ("Net" for a user's struct Net), so
  // a module of one's own needs no override.
  virtual std::string type_name() const;
  virtual std::string describe() const { return type_name() + "()"; }

  // Each parameter once: a tensor registered under two names (tied weights) is listed under its first,
  // as torch's named_parameters(); state_dict() has both names.
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters() const;
  // Non-trained state (running statistics, step counters), as torch.nn.Module.named_buffers().
  NamedTensors named_buffers() const;
  // What save/load writes, in PyTorch's order: each module's parameters, then its buffers, then its
  // children's.
  NamedTensors state_dict() const;
  // Copies values into this module's parameters and buffers (state_dict's names). strict: every name
  // must match both ways; otherwise names missing on either side are skipped. Shapes must match.
  // Errors list the missing, unexpected or mismatched names.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  std::int64_t num_parameters() const;
  void zero_grad();
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  // Registers a leaf parameter (requires_grad is turned on) and returns its handle, which shares the
  // parameter's data (a module keeps it as a member for its forward).
  Tensor register_parameter(std::string name, Tensor value);
  // Registers non-trained state saved in state_dict() (requires_grad stays off); returns a handle that
  // shares its data, as register_parameter does.
  Tensor register_buffer(std::string name, Tensor value);
  // An empty name puts the child's tensors in this module's own namespace ("cls_token", not
  // "2.cls_token"), as a torch module holding that parameter itself.
  void register_module(std::string name, std::shared_ptr<Module> child);
  // The same, handing back the child with its own type, for members: fc1 = register_module("fc1",
  // std::make_shared<Linear>(784, 256)).
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module, M>>>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> child) {
    register_module(std::move(name), std::shared_ptr<Module>(child));
    return child;
  }
  // The same for a holder (bend/nn/module_holder.hpp), libtorch's way:
  //   conv1 = register_module("conv1", nn::ModuleHolder<nn::Conv2d>(1, 10, 5));
  template <class M>
  ModuleHolder<M> register_module(std::string name, ModuleHolder<M> child) {
    register_module(std::move(name), std::shared_ptr<Module>(child.ptr()));
    return child;
  }
  // Called by train()/eval() for modules whose behaviour depends on the mode.
  virtual void on_mode_change(bool /*training*/) {}

 private:
  enum class Collect { Parameters, Buffers, State };
  void collect(const std::string& prefix, Collect what, NamedTensors& out) const;
  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Holds any module by shared pointer; converts implicitly from a module value, so that
// Sequential{Linear(784, 256), ReLU()} reads like PyTorch.
class AnyModule {
 public:
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<M>>>>
  AnyModule(M&& m) : ptr_(std::make_shared<std::decay_t<M>>(std::forward<M>(m))) {}
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module, M>>>
  AnyModule(std::shared_ptr<M> m) : ptr_(std::move(m)) {}
  template <class M>
  AnyModule(const ModuleHolder<M>& m) : ptr_(m.ptr()) {}
  const std::shared_ptr<Module>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<Module> ptr_;
};

}  // namespace bend::nn
