#pragma once
// The GPT of `bend train --model gpt` as the Trainer's ModelSource, and back from a saved file's
// metadata (`bend generate`). The metadata: bend.model "gpt", bend.act, bend.dropout, bend.gpt.n_layer,
// bend.gpt.n_head, bend.gpt.n_embd, bend.gpt.block_size, bend.gpt.vocab_size, bend.gpt.bias, and the
// vocabulary bend.vocab: for characters, UTF-8, sorted (token id i is its i-th character); for words
// (bend.vocab.kind "word", with its cuts bend.vocab.size and bend.vocab.min_count), the words joined by
// spaces (bend/data/word_vocab.hpp). An adaptive head adds bend.gpt.head "adaptive", bend.gpt.cutoffs
// ("2000,10000") and bend.gpt.div_value. Files without these keys are character models with the full
// head.
#include <filesystem>
#include <string>

#include "bend/data/text.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/train/model_source.hpp"

namespace bend::train {

// nanoGPT's GPT with `config` for a text whose vocabulary is `vocab_utf8` (TextCorpus::vocab_utf8(),
// made as `vocab` says; config.vocab_size is set from it). ValueError for a config that
// GPTConfig::validate() refuses. The source's text_loss is GPT::loss.
ModelSource gpt_source(nn::GPTConfig config, const std::string& vocab_utf8, const VocabOptions& vocab = {});

// Whether a file's metadata describes a GPT.
bool is_gpt(const Metadata& metadata);
// The config a GPT file's metadata describes; IoError naming `file` when a key is missing or malformed.
nn::GPTConfig gpt_config_from(const Metadata& metadata, const std::filesystem::path& file);
// How a GPT file's vocabulary was made (kind and cuts); IoError naming `file` when malformed.
VocabOptions vocab_options_from(const Metadata& metadata, const std::filesystem::path& file);

}  // namespace bend::train
