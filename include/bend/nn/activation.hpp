#pragma once
// Activation modules. nn::Activation wraps any entry of the activation table (bend/activations.hpp);
// the PyTorch-named factories below (ReLU(), GELU("tanh"), LeakyReLU(0.2), ...) return one, so
// Sequential{Linear(784, 256), ReLU()} reads as in PyTorch. PReLU (learnable slope), Softmax,
// LogSoftmax and GLU are modules of their own.
#include <memory>
#include <string>
#include <string_view>

#include "bend/activations.hpp"
#include "bend/nn/module.hpp"

namespace bend::nn {

class Activation : public Module {
 public:
  explicit Activation(std::string_view name);  // PyTorch's defaults
  Activation(std::string_view name, const PointwiseParams& params);
  Tensor forward(const Tensor& x) override { return activate(x, *info_, params_); }
  std::string type_name() const override { return std::string(info_->module_name); }
  std::string describe() const override;
  const ActivationInfo& info() const { return *info_; }
  const PointwiseParams& params() const { return params_; }

 private:
  const ActivationInfo* info_;
  PointwiseParams params_;
};

Activation Sigmoid();
Activation Tanh();
Activation ReLU();
Activation LeakyReLU(float negative_slope = 0.01f);
Activation ELU(float alpha = 1.0f);
Activation CELU(float alpha = 1.0f);
Activation SELU();
Activation GELU(std::string_view approximate = "none");
Activation SiLU();
Activation Mish();
Activation Softplus(float beta = 1.0f, float threshold = 20.0f);
Activation Softsign();
Activation ReLU6();
Activation Hardtanh(float min_val = -1.0f, float max_val = 1.0f);
Activation Hardswish();
Activation Hardsigmoid();
Activation Hardshrink(float lambd = 0.5f);
Activation Softshrink(float lambd = 0.5f);
Activation Tanhshrink();
Activation LogSigmoid();
Activation Threshold(float threshold, float value);

// The module for an activation-table entry with PyTorch's defaults: PReLU (a learnable slope) for the
// learnable entry, an Activation otherwise. The MLP builder and the module conformance list use it.
std::shared_ptr<Module> activation_module(const ActivationInfo& info);

// PReLU: max(0,x) + weight·min(0,x), weight of num_parameters (1, or one per feature) initialised to `init`.
class PReLU : public Module {
 public:
  explicit PReLU(std::int64_t num_parameters = 1, float init = 0.25f);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PReLU"; }
  std::string describe() const override;
  Tensor weight;
};

class Softmax : public Module {
 public:
  explicit Softmax(int dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Softmax"; }
  std::string describe() const override;

 private:
  int dim_;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LogSoftmax"; }
  std::string describe() const override;

 private:
  int dim_;
};

class GLU : public Module {
 public:
  explicit GLU(int dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GLU"; }
  std::string describe() const override;

 private:
  int dim_;
};

}  // namespace bend::nn
