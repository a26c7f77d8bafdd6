// Activation modules over the activation table.
#include "bend/nn/activation.hpp"

#include <fmt/format.h>

#include "bend/ops.hpp"

namespace bend::nn {

Activation::Activation(std::string_view name) : info_(&activation(name)), params_(info_->defaults) {}
Activation::Activation(std::string_view name, const PointwiseParams& params)
    : info_(&activation(name)), params_(params) {}

std::string Activation::describe() const {
  std::vector<std::string> args;
  const float values[3] = {params_.a, params_.b, params_.c};
  for (int k = 0; k < 3; ++k)
    if (!info_->param_names[k].empty())
      args.push_back(fmt::format("{}={}", info_->param_names[k], values[k]));
  if (info_->name == "gelu_tanh") args.push_back("approximate='tanh'");
  return fmt::format("{}({})", info_->module_name, fmt::join(args, ", "));
}

Activation Sigmoid() { return Activation("sigmoid"); }
Activation Tanh() { return Activation("tanh"); }
Activation ReLU() { return Activation("relu"); }
Activation LeakyReLU(float negative_slope) { return Activation("leaky_relu", {negative_slope}); }
Activation ELU(float alpha) { return Activation("elu", {alpha}); }
Activation CELU(float alpha) { return Activation("celu", {alpha}); }
Activation SELU() { return Activation("selu"); }
Activation GELU(std::string_view approximate) {
  return Activation(approximate == "tanh" ? "gelu_tanh" : "gelu");
}
Activation SiLU() { return Activation("silu"); }
Activation Mish() { return Activation("mish"); }
Activation Softplus(float beta, float threshold) { return Activation("softplus", {beta, threshold}); }
Activation Softsign() { return Activation("softsign"); }
Activation ReLU6() { return Activation("relu6"); }
Activation Hardtanh(float min_val, float max_val) { return Activation("hardtanh", {min_val, max_val}); }
Activation Hardswish() { return Activation("hardswish"); }
Activation Hardsigmoid() { return Activation("hardsigmoid"); }
Activation Hardshrink(float lambd) { return Activation("hardshrink", {lambd}); }
Activation Softshrink(float lambd) { return Activation("softshrink", {lambd}); }
Activation Tanhshrink() { return Activation("tanhshrink"); }
Activation LogSigmoid() { return Activation("logsigmoid"); }
Activation Threshold(float threshold, float value) { return Activation("threshold", {threshold, value}); }

std::shared_ptr<Module> activation_module(const ActivationInfo& info) {
  if (info.learnable) return std::make_shared<PReLU>();
  return std::make_shared<Activation>(info.name);
}

PReLU::PReLU(std::int64_t num_parameters, float init) {
  weight = register_parameter("weight", Tensor::full({num_parameters}, init));
}
Tensor PReLU::forward(const Tensor& x) { return prelu(x, weight); }
std::string PReLU::describe() const { return fmt::format("PReLU(num_parameters={})", weight.numel()); }

Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim_); }
std::string Softmax::describe() const { return fmt::format("Softmax(dim={})", dim_); }
Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, dim_); }
std::string LogSoftmax::describe() const { return fmt::format("LogSoftmax(dim={})", dim_); }
Tensor GLU::forward(const Tensor& x) { return glu(x, dim_); }
std::string GLU::describe() const { return fmt::format("GLU(dim={})", dim_); }

}  // namespace bend::nn
