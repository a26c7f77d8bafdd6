#pragma once
// AvgPool2d: the mean of each window, as torch.nn.AvgPool2d (ceil_mode included; no divisor_override).
// count_include_pad (the default, as in PyTorch) divides by the window's size inside the padded input.
#include <optional>

#include "bend/nn/module.hpp"
#include "bend/ops.hpp"

namespace bend::nn {

class AvgPool2d : public Module {
 public:
  // stride defaults to kernel_size, as in PyTorch.
  // The arguments in PyTorch's order.
  explicit AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     bool ceil_mode = false, bool count_include_pad = true);
  // x [N, C, H, W] or [C, H, W]
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string describe() const override;  // "AvgPool2d(kernel_size=2, stride=2, padding=0)"
  Size2d kernel_size() const { return kernel_size_; }
  Size2d stride() const { return stride_; }
  Size2d padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  Size2d kernel_size_, stride_, padding_;
  bool ceil_mode_, count_include_pad_;
};

}  // namespace bend::nn
