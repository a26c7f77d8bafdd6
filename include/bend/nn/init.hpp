#pragma once
// Weight initialisation, as torch.nn.init, plus `auto`: the scheme matched to the activation that
// follows a layer (He for the ReLU family, LeCun for SELU, Xavier for saturating functions).
#include <string_view>

#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend {
struct ActivationInfo;
}

namespace bend::nn {
class Linear;
class Sequential;
}  // namespace bend::nn

namespace bend::nn::init {

enum class FanMode { FanIn, FanOut };

// torch.nn.init.calculate_gain: "linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu"
// (param = negative slope, default 0.01), "selu", and the conv names (gain 1). Others: ValueError.
float calculate_gain(std::string_view nonlinearity, float param = 0.01f);

// fan_in / fan_out of a 2-d weight [out, in] (or 1-d: fan_in = fan_out = size).
std::int64_t fan_in(const Tensor& w);
std::int64_t fan_out(const Tensor& w);

// In place; each draws from `rng`.
void uniform_(Tensor& t, float lo, float hi, Rng& rng);
void normal_(Tensor& t, float mean, float stddev, Rng& rng);
void constant_(Tensor& t, float value);
void zeros_(Tensor& t);
// bound = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).
void kaiming_uniform_(Tensor& t, Rng& rng, float a = 0.0f, FanMode mode = FanMode::FanIn,
                      std::string_view nonlinearity = "leaky_relu");
void kaiming_normal_(Tensor& t, Rng& rng, float a = 0.0f, FanMode mode = FanMode::FanIn,
                     std::string_view nonlinearity = "leaky_relu");
// Kaiming with an explicit gain (for activations PyTorch's calculate_gain does not list).
void kaiming_uniform_with_gain_(Tensor& t, Rng& rng, float gain, FanMode mode = FanMode::FanIn);
void xavier_uniform_(Tensor& t, Rng& rng, float gain = 1.0f);
void xavier_normal_(Tensor& t, Rng& rng, float gain = 1.0f);
// LeCun normal: N(0, 1/fan_in), for SELU networks.
void lecun_normal_(Tensor& t, Rng& rng);

// nn.Linear.reset_parameters: kaiming_uniform(a=√5) weight, uniform(±1/√fan_in) bias.
void torch_linear_default(Linear& layer, Rng& rng);

enum class Scheme { Auto, He, Xavier, LeCun, Torch };
Scheme parse_scheme(
    std::string_view name);  // "auto" | "he" | "kaiming" | "xavier" | "glorot" | "lecun" | "torch"
std::string_view scheme_name(Scheme s);

// Initialises one Linear for the activation that follows it (null: none, e.g. the output layer).
// Biases start at zero except for Torch. He uses the activation's gain; Xavier uses its gain too.
void init_linear(Linear& layer, Scheme scheme, const ActivationInfo* next_activation, Rng& rng);
// The same for any layer's weight (fan_in from its shape: a Conv2d's [O, C, kh, kw] has C·kh·kw) and
// bias (may be undefined).
void init_layer(Tensor& weight, Tensor& bias, Scheme scheme, const ActivationInfo* next_activation, Rng& rng);

}  // namespace bend::nn::init
