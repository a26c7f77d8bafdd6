// Initialisation schemes (torch.nn.init semantics).
#include "bend/nn/init.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/linear.hpp"

namespace bend::nn::init {

float calculate_gain(std::string_view nonlinearity, float param) {
  if (nonlinearity == "linear" || nonlinearity == "identity" || nonlinearity == "sigmoid" ||
      nonlinearity.starts_with("conv"))
    return 1.0f;
  if (nonlinearity == "tanh") return 5.0f / 3.0f;
  if (nonlinearity == "relu") return std::sqrt(2.0f);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0f / (1.0f + param * param));
  if (nonlinearity == "selu") return 3.0f / 4.0f;
  throw ValueError(fmt::format("calculate_gain: unsupported nonlinearity '{}'", nonlinearity));
}

std::int64_t fan_in(const Tensor& w) { return w.ndim() >= 2 ? w.numel() / w.size(0) : w.numel(); }
std::int64_t fan_out(const Tensor& w) {
  return w.ndim() >= 2 ? w.size(0) * (w.numel() / (w.size(0) * w.size(1))) : w.numel();
}

void uniform_(Tensor& t, float lo, float hi, Rng& rng) {
  for (float& v : t.span()) v = rng.uniform(lo, hi);
}
void normal_(Tensor& t, float mean, float stddev, Rng& rng) {
  for (float& v : t.span()) v = rng.normal(mean, stddev);
}
void constant_(Tensor& t, float value) { t.fill_(value); }
void zeros_(Tensor& t) { t.fill_(0.0f); }

namespace {
float fan(const Tensor& t, FanMode mode) {
  const auto f = static_cast<float>(mode == FanMode::FanIn ? fan_in(t) : fan_out(t));
  if (f <= 0)
    throw ValueError(fmt::format("init: cannot compute the fan of a tensor of shape {}", t.shape().str()));
  return f;
}
}  // namespace

void kaiming_uniform_with_gain_(Tensor& t, Rng& rng, float gain, FanMode mode) {
  const float bound = gain * std::sqrt(3.0f / fan(t, mode));
  uniform_(t, -bound, bound, rng);
}
void kaiming_uniform_(Tensor& t, Rng& rng, float a, FanMode mode, std::string_view nonlinearity) {
  kaiming_uniform_with_gain_(t, rng, calculate_gain(nonlinearity, a), mode);
}
void kaiming_normal_(Tensor& t, Rng& rng, float a, FanMode mode, std::string_view nonlinearity) {
  normal_(t, 0.0f, calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode)), rng);
}
void xavier_uniform_(Tensor& t, Rng& rng, float gain) {
  const float bound = gain * std::sqrt(6.0f / (fan(t, FanMode::FanIn) + fan(t, FanMode::FanOut)));
  uniform_(t, -bound, bound, rng);
}
void xavier_normal_(Tensor& t, Rng& rng, float gain) {
  normal_(t, 0.0f, gain * std::sqrt(2.0f / (fan(t, FanMode::FanIn) + fan(t, FanMode::FanOut))), rng);
}
void lecun_normal_(Tensor& t, Rng& rng) { normal_(t, 0.0f, 1.0f / std::sqrt(fan(t, FanMode::FanIn)), rng); }

namespace {
// nn.Linear and nn.Conv2d's reset_parameters: kaiming_uniform(a=√5) weight, uniform(±1/√fan_in) bias.
void torch_default(Tensor& weight, Tensor& bias, Rng& rng) {
  kaiming_uniform_(weight, rng, std::sqrt(5.0f));
  if (bias.defined()) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in(weight)));
    uniform_(bias, -bound, bound, rng);
  }
}
}  // namespace

void torch_linear_default(Linear& layer, Rng& rng) { torch_default(layer.weight, layer.bias, rng); }

Scheme parse_scheme(std::string_view name) {
  if (name == "auto") return Scheme::Auto;
  if (name == "he" || name == "kaiming") return Scheme::He;
  if (name == "xavier" || name == "glorot") return Scheme::Xavier;
  if (name == "lecun") return Scheme::LeCun;
  if (name == "torch" || name == "default") return Scheme::Torch;
  throw ValueError(fmt::format("unknown init '{}' (valid: auto, he, xavier, lecun, torch)", name));
}

std::string_view scheme_name(Scheme s) {
  switch (s) {
    case Scheme::Auto:
      return "auto";
    case Scheme::He:
      return "he";
    case Scheme::Xavier:
      return "xavier";
    case Scheme::LeCun:
      return "lecun";
    case Scheme::Torch:
      return "torch";
  }
  return "?";
}

void init_linear(Linear& layer, Scheme scheme, const ActivationInfo* next, Rng& rng) {
  init_layer(layer.weight, layer.bias, scheme, next, rng);
}

void init_layer(Tensor& weight, Tensor& bias, Scheme scheme, const ActivationInfo* next, Rng& rng) {
  if (scheme == Scheme::Torch) {
    torch_default(weight, bias, rng);
    return;
  }
  if (scheme == Scheme::Auto) {
    if (!next)
      scheme = Scheme::Xavier;  // the output layer feeds a softmax: keep logits O(1)
    else if (next->init_family == InitFamily::He)
      scheme = Scheme::He;
    else if (next->init_family == InitFamily::LeCun)
      scheme = Scheme::LeCun;
    else
      scheme = Scheme::Xavier;
  }
  const float gain = next ? next->gain(next->defaults) : 1.0f;
  switch (scheme) {
    case Scheme::He:
      kaiming_uniform_with_gain_(weight, rng, gain);
      break;
    case Scheme::Xavier:
      xavier_uniform_(weight, rng, gain);
      break;
    case Scheme::LeCun:
      lecun_normal_(weight, rng);
      break;
    default:
      break;
  }
  if (bias.defined()) zeros_(bias);
}

}  // namespace bend::nn::init
