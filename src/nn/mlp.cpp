// MLP specs and the builder.
#include "bend/nn/mlp.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/swiglu.hpp"
#include "spec_helpers.hpp"

namespace bend::nn {
namespace {

using detail::split_on;

using detail::canonical_activation;
using detail::human_bytes;
using detail::physical_memory_bytes;

// Parameters of the block that maps `in` features to `out` (a Linear with bias, or a SwiGLU block of
// two), or -1 when the count does not fit in 63 bits.
std::int64_t block_parameters(std::int64_t in, std::int64_t out, bool swiglu) {
  std::int64_t weights = 0, count = 0;
  if (__builtin_mul_overflow(in, out, &weights) || __builtin_add_overflow(weights, out, &count) ||
      __builtin_mul_overflow(count, swiglu ? 2 : 1, &count))
    return -1;
  return count;
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
  const auto get = [&](const char* key) { return detail::metadata_value(m, key); };
  const float dropout = detail::dropout_from_metadata(m);
  try {
    return parse(get("bend.arch"), get("bend.act").empty() ? "relu" : get("bend.act"), dropout);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("model metadata (bend.arch \"{}\", bend.act \"{}\"): {}", get("bend.arch"),
                                 get("bend.act"), e.what()));
  }
}

std::vector<std::int64_t> MlpSpec::parameters_per_block() const {
  std::vector<std::int64_t> counts;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const bool swiglu = i + 2 < sizes.size() && i < activations.size() && activations[i] == "swiglu";
    counts.push_back(block_parameters(sizes[i], sizes[i + 1], swiglu));
  }
  return counts;
}

void check_mlp_fits_in_memory(const MlpSpec& spec) {
  const double memory = physical_memory_bytes();
  const std::vector<std::int64_t> counts = spec.parameters_per_block();
  double total = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    // Computed in double: the exact count may not fit in 64 bits.
    const double bytes = static_cast<double>(spec.sizes[i]) * static_cast<double>(spec.sizes[i + 1]) *
                         static_cast<double>(sizeof(float));
    total += bytes;
    if (counts[i] < 0 || (memory > 0.0 && bytes > memory))
      throw ValueError(
          fmt::format("layer {} ({} -> {}) needs {} for its weights, more than this machine's {} "
                      "of memory",
                      i + 1, spec.sizes[i], spec.sizes[i + 1], human_bytes(bytes), human_bytes(memory)));
  }
  if (memory > 0.0 && total > memory)
    throw ValueError(
        fmt::format("the network {} needs {} for its weights, more than this machine's {} of "
                    "memory",
                    spec.arch_string(), human_bytes(total), human_bytes(memory)));
}

Sequential build_mlp(const MlpSpec& spec, init::Scheme scheme, Rng& rng) {
  check_mlp_fits_in_memory(spec);  // before any allocation: a clear error instead of std::bad_alloc
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
