#pragma once
// Sequential: children run in order, named "0", "1", ... as in torch.nn.Sequential, so parameters are
// "0.weight", "0.bias", "2.weight", ...
#include <initializer_list>
#include <string>
#include <vector>

#include "bend/nn/module.hpp"

namespace bend::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<AnyModule> modules);

  void push_back(AnyModule m);
  // A child named `name` instead of its index ("patch_embed", "blocks"; names must differ). An empty
  // name puts the child's tensors in the Sequential's own namespace (a class token's "cls_token").
  // ValueError when a name, or one of the child's tensor names, is taken.
  void push_back(std::string name, AnyModule m);
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

  // A conv net fed flat samples: with a sample shape set (e.g. {1, 28, 28}), forward() views a 2-d
  // input [N, 784] as [N, 1, 28, 28] before the first layer (as torch's nn.Unflatten would, but with no
  // module, so the state dict keeps nn.Sequential's names). Empty (the default): inputs go in as given.
  void set_input_shape(std::vector<std::int64_t> sample_shape);
  const std::vector<std::int64_t>& input_shape() const { return input_shape_; }
  // x as the first layer takes it (a view; x itself when no sample shape is set or x is not 2-d).
  Tensor view_input(const Tensor& x) const;

 private:
  std::vector<std::int64_t> input_shape_;
};

}  // namespace bend::nn
