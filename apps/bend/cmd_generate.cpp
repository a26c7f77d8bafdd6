// bend generate: text from a GPT trained with bend train --model gpt, as nanoGPT's sample.py makes it,
// streamed as it is drawn.
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "bend/data/text.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/parallel.hpp"
#include "bend/rng.hpp"
#include "bend/train/gpt_source.hpp"
#include "cli.hpp"

namespace bend::cli {

int run_generate(int argc, char** argv) {
  cxxopts::Options options(
      "bend generate",
      "Sample text from a GPT (bend train --model gpt --save FILE), as nanoGPT's sample.py: "
      "softmax of the last logits / temperature over the top-k tokens (characters or words), one draw at "
      "a time, the context cropped to the block size.");
  options.add_options()("model", "the GPT file (.safetensors, or a checkpoint)",
                        cxxopts::value<std::string>())(
      "prompt", "the text to continue (sample.py's start; default: a newline)",
      cxxopts::value<std::string>()->default_value("\n"))(
      "tokens", "tokens to generate (max_new_tokens): characters or words",
      cxxopts::value<std::int64_t>()->default_value("500"))(
      "temperature", "divides the logits: < 1 sharper, > 1 more random",
      cxxopts::value<float>()->default_value("0.8"))("top-k", "draw among the k likeliest tokens (0: all)",
                                                     cxxopts::value<std::int64_t>()->default_value("200"))(
      "samples", "independent samples (num_samples)", cxxopts::value<std::int64_t>()->default_value("1"))(
      "seed", "random seed", cxxopts::value<std::uint64_t>()->default_value("1337"))(
      "threads", "threads (0: default)", cxxopts::value<int>()->default_value("0"));
  cxxopts::ParseResult a;
  if (!parse_or_help(options, argc, argv, a)) return 0;
  if (!a.count("model"))
    throw UsageError("--model FILE is required (a GPT from bend train --model gpt --save FILE)");
  const std::filesystem::path path = a["model"].as<std::string>();
  const std::int64_t tokens = a["tokens"].as<std::int64_t>(), samples = a["samples"].as<std::int64_t>(),
                     top_k = a["top-k"].as<std::int64_t>();
  const float temperature = a["temperature"].as<float>();
  if (tokens < 0) throw UsageError(fmt::format("--tokens must be >= 0, got {}", tokens));
  if (samples < 1) throw UsageError(fmt::format("--samples must be positive, got {}", samples));
  if (top_k < 0) throw UsageError(fmt::format("--top-k must be >= 0, got {}", top_k));
  if (!(temperature > 0))
    throw UsageError(fmt::format("--temperature must be positive, got {}", temperature));
  if (!std::filesystem::exists(path))
    throw UsageError(fmt::format("--model {}: no such file", path.string()));

  nn::Metadata metadata;
  nn::NamedTensors tensors = nn::load_tensors(path, &metadata);
  if (!train::is_gpt(metadata))
    throw UsageError(fmt::format(
        "--model {}: holds {}, not a GPT: bend generate needs a model from bend train --model gpt "
        "(bend eval and bend predict take classifiers)",
        path.string(),
        metadata.contains("bend.arch") ? fmt::format("a classifier ({})", metadata.at("bend.arch"))
                                       : std::string("no bend GPT metadata")));
  const nn::GPTConfig config = train::gpt_config_from(metadata, path);
  const VocabOptions vocab_options = train::vocab_options_from(metadata, path);
  // Token id i as text: a character, or a word (bend/data/word_vocab.hpp).
  std::u32string vocab;
  std::vector<std::string> words;
  if (vocab_options.is_word())
    words = parse_word_vocab(metadata.at("bend.vocab"), path.string());
  else
    vocab = decode_utf8(metadata.at("bend.vocab"), path.string());
  // A checkpoint's model tensors are "model.<name>".
  nn::NamedTensors model_tensors;
  for (auto& [name, t] : tensors)
    if (name.starts_with("model.")) model_tensors.emplace_back(name.substr(6), t);
  if (model_tensors.empty()) model_tensors = std::move(tensors);
  Rng init(0);
  nn::GPT model(config, init);
  model.load_state_dict(model_tensors);

  std::vector<std::int32_t> prompt;
  try {
    const std::u32string text = decode_utf8(a["prompt"].as<std::string>(), "--prompt");
    prompt = vocab_options.is_word() ? encode_words(text, words) : encode_text(text, vocab);
  } catch (const Error& e) {
    if (vocab_options.is_word())
      throw UsageError(
          fmt::format("--prompt: {} (words seen fewer times than the model's cuts are <unk>)", e.what()));
    throw UsageError(
        fmt::format("--prompt: {} (the model's characters: {})", e.what(), printable(encode_utf8(vocab))));
  }
  if (prompt.empty()) throw UsageError("--prompt holds no word: give some text (the default is a newline)");
  if (a["threads"].as<int>() > 0) set_num_threads(a["threads"].as<int>());
  Rng rng(a["seed"].as<std::uint64_t>());
  const std::optional<std::int64_t> k = top_k > 0 ? std::optional<std::int64_t>(top_k) : std::nullopt;
  for (std::int64_t s = 0; s < samples; ++s) {
    std::vector<std::int32_t> ids = prompt;
    const std::string start = a["prompt"].as<std::string>();
    std::fwrite(start.data(), 1, start.size(), stdout);
    std::fflush(stdout);
    std::string previous = words.empty() ? std::string() : words[static_cast<std::size_t>(ids.back())];
    nn::generate(model, ids, tokens, temperature, k, rng, [&](std::int32_t id) {
      std::string c;
      if (vocab_options.is_word()) {
        const std::string& word = words[static_cast<std::size_t>(id)];
        c = std::string(word_separator(previous, word)) + word;
        previous = word;
      } else {
        c = encode_utf8(vocab[static_cast<std::size_t>(id)]);
      }
      std::fwrite(c.data(), 1, c.size(), stdout);
      std::fflush(stdout);
    });
    fmt::print("\n---------------\n");
  }
  return 0;
}

}  // namespace bend::cli
