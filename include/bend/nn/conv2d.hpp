#pragma once
// Conv2d: 2-d convolution over NCHW images, as torch.nn.Conv2d (groups = 1, zero padding): weight
// [out_channels, in_channels, kh, kw] and bias [out_channels], same names and default init.
#include "bend/nn/module.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend::nn {

class Conv2d : public Module {
 public:
  // PyTorch's default init: kaiming_uniform(a=√5) for the weight, uniform(±1/√fan_in) for the bias
  // (fan_in = in_channels·kh·kw), drawn from `rng` (default_rng() when not given).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Size2d stride = 1,
         Size2d padding = 0, Size2d dilation = 1, bool bias = true);
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Size2d stride,
         Size2d padding, Size2d dilation, bool bias, Rng& rng);

  // x [N, in_channels, H, W] -> [N, out_channels, OH, OW]
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string describe() const override;  // "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"

  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  Size2d kernel_size() const { return kernel_size_; }
  Size2d stride() const { return stride_; }
  Size2d padding() const { return padding_; }
  Size2d dilation() const { return dilation_; }
  Tensor weight;
  Tensor bias;  // undefined when bias = false

 private:
  std::int64_t in_channels_, out_channels_;
  Size2d kernel_size_, stride_, padding_, dilation_;
};

}  // namespace bend::nn
