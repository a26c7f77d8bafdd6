// GPT <-> ModelSource and file metadata.
#include "bend/train/gpt_source.hpp"

#include <charconv>

#include <fmt/format.h>

#include "bend/data/text.hpp"
#include "bend/error.hpp"

namespace bend::train {

ModelSource gpt_source(nn::GPTConfig config, const std::string& vocab_utf8) {
  config.vocab_size = static_cast<std::int64_t>(decode_utf8(vocab_utf8, "the vocabulary").size());
  config.validate();
  ModelSource s =
      ModelSource::from([config](Rng& rng) { return std::make_shared<nn::GPT>(config, rng); }, "gpt");
  s.metadata["bend.act"] = config.activation;
  s.metadata["bend.dropout"] = fmt::format("{:g}", config.dropout);
  s.metadata["bend.gpt.n_layer"] = std::to_string(config.n_layer);
  s.metadata["bend.gpt.n_head"] = std::to_string(config.n_head);
  s.metadata["bend.gpt.n_embd"] = std::to_string(config.n_embd);
  s.metadata["bend.gpt.block_size"] = std::to_string(config.block_size);
  s.metadata["bend.gpt.vocab_size"] = std::to_string(config.vocab_size);
  s.metadata["bend.gpt.bias"] = config.bias ? "true" : "false";
  s.metadata["bend.vocab"] = vocab_utf8;
  s.description = fmt::format("GPT ({} layers, {} heads, n_embd {}, block {}, {} characters, {}{})",
                              config.n_layer, config.n_head, config.n_embd, config.block_size,
                              config.vocab_size, config.activation, config.bias ? "" : ", no bias");
  return s;
}

bool is_gpt(const Metadata& metadata) {
  auto it = metadata.find("bend.model");
  return it != metadata.end() && it->second == "gpt";
}

nn::GPTConfig gpt_config_from(const Metadata& m, const std::filesystem::path& file) {
  const auto get = [&](const std::string& key) -> const std::string& {
    auto it = m.find(key);
    if (it == m.end())
      throw IoError(fmt::format("{}: not a GPT file: the metadata has no {}", file.string(), key));
    return it->second;
  };
  const auto integer = [&](const std::string& key) {
    const std::string& text = get(key);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > (std::int64_t{1} << 24))
      throw IoError(fmt::format("{}: {} = '{}' is not a size", file.string(), key, text));
    return v;
  };
  if (!is_gpt(m))
    throw IoError(
        fmt::format("{}: holds no GPT (bend.model is not \"gpt\"): train one with bend train --model gpt",
                    file.string()));
  nn::GPTConfig c;
  c.n_layer = integer("bend.gpt.n_layer");
  c.n_head = integer("bend.gpt.n_head");
  c.n_embd = integer("bend.gpt.n_embd");
  c.block_size = integer("bend.gpt.block_size");
  c.vocab_size = integer("bend.gpt.vocab_size");
  c.bias = get("bend.gpt.bias") == "true";
  c.activation = get("bend.act");
  try {
    c.dropout = std::stof(get("bend.dropout"));
    c.validate();
  } catch (const std::exception& e) {
    throw IoError(fmt::format("{}: the GPT's metadata is invalid: {}", file.string(), e.what()));
  }
  if (static_cast<std::int64_t>(decode_utf8(get("bend.vocab"), file.string() + " bend.vocab").size()) !=
      c.vocab_size)
    throw IoError(fmt::format("{}: bend.vocab does not have bend.gpt.vocab_size = {} characters",
                              file.string(), c.vocab_size));
  return c;
}

}  // namespace bend::train
