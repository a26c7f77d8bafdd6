#pragma once
// TakeToken(index): one token of each sequence, x [N, T, D] -> x[:, index] [N, D]; a vision transformer's
// head reads the class token (index 0). No state. An index past the sequence throws ShapeError.
#include "bend/nn/module.hpp"

namespace bend::nn {

class TakeToken : public Module {
 public:
  explicit TakeToken(std::int64_t index = 0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "TakeToken"; }
  std::string describe() const override;  // "TakeToken(index=0)"
  std::int64_t index() const { return index_; }

 private:
  std::int64_t index_;
};

}  // namespace bend::nn
