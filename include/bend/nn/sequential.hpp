#pragma once
// Sequential: children run in order, named "0", "1", ... as in torch.nn.Sequential, so parameters are
// "0.weight", "0.bias", "2.weight", ...
#include <initializer_list>
#include <string>

#include "bend/nn/module.hpp"

namespace bend::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<AnyModule> modules);

  void push_back(AnyModule m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  std::string describe() const override;  // PyTorch-style multi-line repr

  std::size_t size() const { return children().size(); }
  Module& operator[](std::size_t i) const { return *children().at(i).second; }
  template <class M>
  M* get_if(std::size_t i) const {
    return dynamic_cast<M*>(children().at(i).second.get());
  }

  // A table: index, layer, output shape, parameters; then the total. `input` is one sample's shape
  // with a batch dimension (e.g. [1, 784]); the output shapes come from a forward pass on zeros.
  std::string summary(const Shape& input);
};

}  // namespace bend::nn
