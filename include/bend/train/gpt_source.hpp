#pragma once
// The GPT of `bend train --model gpt` as the Trainer's ModelSource, and back from a saved file's
// metadata (`bend generate`). The metadata: bend.model "gpt", bend.act, bend.dropout, bend.gpt.n_layer,
// bend.gpt.n_head, bend.gpt.n_embd, bend.gpt.block_size, bend.gpt.vocab_size, bend.gpt.bias, and the
// character vocabulary bend.vocab (UTF-8, sorted: token id i is its i-th character).
#include <filesystem>
#include <string>

#include "bend/nn/gpt.hpp"
#include "bend/train/model_source.hpp"

namespace bend::train {

// nanoGPT's GPT with `config` for a text whose vocabulary is `vocab_utf8` (config.vocab_size is set
// from it). ValueError for a config that GPTConfig::validate() refuses.
ModelSource gpt_source(nn::GPTConfig config, const std::string& vocab_utf8);

// Whether a file's metadata describes a GPT.
bool is_gpt(const Metadata& metadata);
// The config a GPT file's metadata describes; IoError naming `file` when a key is missing or malformed.
nn::GPTConfig gpt_config_from(const Metadata& metadata, const std::filesystem::path& file);

}  // namespace bend::train
