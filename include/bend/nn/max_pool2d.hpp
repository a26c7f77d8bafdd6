#pragma once
// MaxPool2d: the maximum of each window, as torch.nn.MaxPool2d (dilation and ceil_mode included). The
// gradient goes to the first maximum of each window.
#include <optional>

#include "bend/nn/module.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

class MaxPool2d : public Module {
 public:
  // stride defaults to kernel_size, as in PyTorch.
  explicit MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     Size2d dilation = 1, bool ceil_mode = false);
  // x [N, C, H, W] or [C, H, W]
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string describe() const override;  // "MaxPool2d(kernel_size=2, stride=2, padding=0, ...)"
  Size2d kernel_size() const { return kernel_size_; }
  Size2d stride() const { return stride_; }
  Size2d padding() const { return padding_; }
  Size2d dilation() const { return dilation_; }
  bool ceil_mode() const { return ceil_mode_; }

 private:
  Size2d kernel_size_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

}  // namespace bend::nn
