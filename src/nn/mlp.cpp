// MLP specs and the builder.
#include "bend/nn/mlp.hpp"

#include <charconv>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/swiglu.hpp"

namespace bend::nn {
namespace {

std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string canonical_activation(std::string_view name) {
  if (name == "swiglu") return "swiglu";
  return std::string(activation(name).name);  // validates, resolves aliases
}

}  // namespace

MlpSpec MlpSpec::parse(std::string_view arch, std::string_view acts, float dropout) {
  MlpSpec spec;
  for (std::string_view part : split_on(arch, '-')) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || v <= 0)
      throw ValueError(fmt::format(
          "--arch '{}': '{}' is not a positive layer size (expected e.g. 784-256-128-10)", arch, part));
    spec.sizes.push_back(v);
  }
  if (spec.sizes.size() < 2)
    throw ValueError(fmt::format("--arch '{}': needs at least an input and an output size", arch));
  const auto hidden = static_cast<std::size_t>(spec.hidden_layers());
  const auto names = split_on(acts, ',');
  if (hidden > 0) {
    if (names.size() == 1)
      spec.activations.assign(hidden, canonical_activation(names[0]));
    else if (names.size() == hidden)
      for (std::string_view n : names) spec.activations.push_back(canonical_activation(n));
    else
      throw ValueError(
          fmt::format("--act '{}': {} names for {} hidden layers (give one, or one per hidden layer)", acts,
                      names.size(), hidden));
  }
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw ValueError(fmt::format("--dropout must be in [0, 1), got {}", dropout));
  spec.dropout = dropout;
  return spec;
}

std::string MlpSpec::arch_string() const { return fmt::format("{}", fmt::join(sizes, "-")); }
std::string MlpSpec::act_string() const { return fmt::format("{}", fmt::join(activations, ",")); }

std::map<std::string, std::string> MlpSpec::to_metadata() const {
  return {
      {"bend.arch", arch_string()}, {"bend.act", act_string()}, {"bend.dropout", fmt::format("{}", dropout)}};
}

bool MlpSpec::has_metadata(const std::map<std::string, std::string>& m) { return m.contains("bend.arch"); }

MlpSpec MlpSpec::from_metadata(const std::map<std::string, std::string>& m) {
  auto get = [&](const char* key) -> std::string {
    auto it = m.find(key);
    return it == m.end() ? std::string() : it->second;
  };
  float dropout = 0.0f;
  if (auto d = get("bend.dropout"); !d.empty()) dropout = std::stof(d);
  return parse(get("bend.arch"), get("bend.act").empty() ? "relu" : get("bend.act"), dropout);
}

Sequential build_mlp(const MlpSpec& spec, init::Scheme scheme, Rng& rng) {
  Sequential net;
  const std::size_t n = spec.sizes.size();
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const std::int64_t in = spec.sizes[i], out = spec.sizes[i + 1];
    const bool hidden = i + 2 < n;
    if (hidden && spec.activations[i] == "swiglu") {
      SwiGLU block(in, out, true, rng);
      // The gate feeds a SiLU, the up projection is linear.
      init::init_linear(block.gate_proj(), scheme, &activation("silu"), rng);
      init::init_linear(block.up_proj(), scheme, nullptr, rng);
      net.push_back(std::move(block));
    } else {
      Linear layer(in, out, true, rng);
      const ActivationInfo* next = hidden ? &activation(spec.activations[i]) : nullptr;
      init::init_linear(layer, scheme, next, rng);
      net.push_back(std::move(layer));
      if (hidden) net.push_back(activation_module(*next));
    }
    if (hidden && spec.dropout > 0.0f) net.push_back(Dropout(spec.dropout, rng.next_u64()));
  }
  return net;
}

}  // namespace bend::nn
