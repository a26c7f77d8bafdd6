// GPT <-> ModelSource and file metadata.
#include "bend/train/gpt_source.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "bend/data/text.hpp"
#include "bend/error.hpp"

namespace bend::train {

ModelSource gpt_source(nn::GPTConfig config, const std::string& vocab_utf8, const VocabOptions& vocab) {
  vocab.validate();
  config.vocab_size = saved_vocab_size(vocab.kind, vocab_utf8, "the vocabulary");
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
  if (vocab.is_word()) {
    s.metadata["bend.vocab.kind"] = "word";
    s.metadata["bend.vocab.size"] = std::to_string(vocab.word.size);
    s.metadata["bend.vocab.min_count"] = std::to_string(vocab.word.min_count);
  }
  if (config.head == "adaptive") {
    s.metadata["bend.gpt.head"] = "adaptive";
    s.metadata["bend.gpt.cutoffs"] = fmt::format("{}", fmt::join(config.cutoffs, ","));
    s.metadata["bend.gpt.div_value"] = fmt::format("{:g}", config.div_value);
  }
  s.description = fmt::format(
      "GPT ({} layers, {} heads, n_embd {}, block {}, {} {}, {}{}{})", config.n_layer, config.n_head,
      config.n_embd, config.block_size, config.vocab_size, vocab.is_word() ? "words" : "characters",
      config.activation, config.bias ? "" : ", no bias", config.head == "adaptive" ? ", adaptive head" : "");
  s.text_loss = [](nn::Module& m, const Tensor& x, std::span<const std::int32_t> y) {
    return dynamic_cast<nn::GPT&>(m).loss(x, y);
  };
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
  if (auto it = m.find("bend.gpt.head"); it != m.end()) {
    c.head = it->second;
    c.cutoffs.clear();
    const std::string& list = get("bend.gpt.cutoffs");
    for (std::size_t start = 0; start < list.size();) {
      const std::size_t end = std::min(list.find(',', start), list.size());
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(list.data() + start, list.data() + end, v);
      if (ec != std::errc() || p != list.data() + end)
        throw IoError(fmt::format("{}: bend.gpt.cutoffs = '{}' is not a list of sizes", file.string(), list));
      c.cutoffs.push_back(v);
      start = end + 1;
    }
  }
  try {
    if (auto it = m.find("bend.gpt.div_value"); it != m.end()) c.div_value = std::stod(it->second);
    c.dropout = std::stof(get("bend.dropout"));
    c.validate();
  } catch (const std::exception& e) {
    throw IoError(fmt::format("{}: the GPT's metadata is invalid: {}", file.string(), e.what()));
  }
  const VocabOptions vocab = vocab_options_from(m, file);
  if (saved_vocab_size(vocab.kind, get("bend.vocab"), file.string() + " bend.vocab") != c.vocab_size)
    throw IoError(fmt::format("{}: bend.vocab does not have bend.gpt.vocab_size = {} {}", file.string(),
                              c.vocab_size, vocab.is_word() ? "words" : "characters"));
  return c;
}

VocabOptions vocab_options_from(const Metadata& m, const std::filesystem::path& file) {
  VocabOptions v;
  auto kind = m.find("bend.vocab.kind");
  if (kind == m.end()) return v;
  v.kind = kind->second;
  const auto number = [&](const char* key, std::int64_t fallback) {
    auto it = m.find(key);
    if (it == m.end()) return fallback;
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || end != it->second.data() + it->second.size())
      throw IoError(fmt::format("{}: {} = '{}' is not a number", file.string(), key, it->second));
    return n;
  };
  v.word.size = number("bend.vocab.size", 0);
  v.word.min_count = number("bend.vocab.min_count", 1);
  try {
    v.validate();
  } catch (const ValueError& e) {
    throw IoError(fmt::format("{}: the vocabulary's metadata is invalid: {}", file.string(), e.what()));
  }
  return v;
}

}  // namespace bend::train
