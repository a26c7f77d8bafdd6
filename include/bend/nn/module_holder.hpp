#pragma once
// ModuleHolder<M>: a shared handle to a module that is called like one, as libtorch's module holders
// (torch::nn::Linear is a holder of LinearImpl). Where a member would be std::shared_ptr<Linear> and
// every call (*fc1)(x), a holder reads fc1(x), and fc1->weight reaches the module:
//
//   struct Net : nn::Module {
//     nn::ModuleHolder<nn::Linear> fc1, fc2;  // empty until assigned (Linear needs its sizes)
//     Net() {
//       fc1 = register_module("fc1", nn::ModuleHolder<nn::Linear>(784, 128));
//       fc2 = register_module("fc2", nn::ModuleHolder<nn::Linear>(128, 10));
//     }
//     Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
//   };
//
// Copies share the module (a copy is another handle, as with Tensor).
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "bend/error.hpp"
#include "bend/nn/module.hpp"

namespace bend::nn {

template <class M>
class ModuleHolder {
  static_assert(std::is_base_of_v<Module, M>, "ModuleHolder holds a bend::nn::Module");

 public:
  // As libtorch: a module made with M's default constructor when it has one (ModuleHolder<ReLU>()),
  // else empty until assigned (ModuleHolder<Linear>, whose constructor needs the sizes).
  ModuleHolder() {
    if constexpr (std::is_default_constructible_v<M>) ptr_ = std::make_shared<M>();
  }
  // Empty, whatever M (libtorch's `torch::nn::Linear fc{nullptr}`).
  ModuleHolder(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): libtorch's {nullptr}
  ModuleHolder(std::shared_ptr<M> module) : ptr_(std::move(module)) {}  // NOLINT: a handle, like it
  // Constructs the module from M's constructor arguments: ModuleHolder<Linear>(784, 128).
  template <class... Args>
  requires(sizeof...(Args) > 0 && std::is_constructible_v<M, Args...>) explicit ModuleHolder(Args&&... args)
      : ptr_(std::make_shared<M>(std::forward<Args>(args)...)) {}

  // Calls the module's forward().
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return get().forward(std::forward<Args>(args)...);
  }
  M* operator->() const { return &get(); }
  M& operator*() const { return get(); }

  const std::shared_ptr<M>& ptr() const { return ptr_; }
  bool is_empty() const { return ptr_ == nullptr; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  M& get() const {
    if (!ptr_)
      throw ValueError(std::string("ModuleHolder: the holder of a module (") + typeid(M).name() +
                       ") is empty; assign it, e.g. from register_module(), before using it");
    return *ptr_;
  }
  std::shared_ptr<M> ptr_;
};

}  // namespace bend::nn
