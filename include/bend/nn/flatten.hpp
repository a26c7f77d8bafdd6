#pragma once
// Flatten: joins dimensions start_dim..end_dim into one, as torch.nn.Flatten (a view, no copy).
#include "bend/nn/module.hpp"

namespace bend::nn {

class Flatten : public Module {
 public:
  explicit Flatten(int start_dim = 1, int end_dim = -1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string describe() const override;  // "Flatten(start_dim=1, end_dim=-1)"
  // The shape forward() gives for an input of shape `in`; ShapeError when the dims do not exist.
  Shape output_shape(const Shape& in) const;

 private:
  int start_dim_, end_dim_;
};

}  // namespace bend::nn
