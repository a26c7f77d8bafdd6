#pragma once
// Text for language models, as nanoGPT's data/*/prepare.py and train.py's get_batch make it.
//
// A TextCorpus is one UTF-8 text encoded with its character vocabulary: the sorted set of the text's
// characters (code points; Python's sorted(set(text))), so token ids agree with nanoGPT's. The first 90%
// of the ids are the training split, the rest the validation split (nanoGPT's int(n*0.9)).
//
// text_batch() is get_batch: `batch` windows of `block` tokens starting at offsets drawn uniformly from
// [0, len - block), with targets shifted by one. The offsets are drawn from the caller's Rng, so a
// checkpoint of that stream resumes the batches exactly.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend {

// The code points of `text`. IoError "<where>: not UTF-8: <what> at byte offset N" for an invalid,
// overlong, truncated or surrogate sequence.
std::u32string decode_utf8(std::string_view text, std::string_view where);
// One code point as UTF-8.
std::string encode_utf8(char32_t c);
std::string encode_utf8(std::u32string_view text);

struct TextCorpus {
  std::string name;                 // "fortunes", or the file's path
  std::u32string vocab;             // sorted distinct characters: id i is vocab[i]
  std::vector<std::int32_t> train;  // ids of the first 90%
  std::vector<std::int32_t> val;    // ids of the rest
  std::int64_t characters = 0;      // train.size() + val.size()

  std::int64_t vocab_size() const { return static_cast<std::int64_t>(vocab.size()); }
  // The vocabulary as UTF-8 (what saved models store as "bend.vocab").
  std::string vocab_utf8() const { return encode_utf8(vocab); }
};

// Builds a corpus from UTF-8 text. IoError naming `where` for text that is not UTF-8 (with the byte
// offset) or is empty.
TextCorpus make_text_corpus(std::string_view utf8, std::string name, std::string_view where);
// Reads and builds from one file (`bend train --text FILE`).
TextCorpus load_text_file(const std::filesystem::path& file);
// The fortune files of `dir` (fortune-mod's data files: regular files, not *.dat, not symlinks),
// concatenated in name order. IoError with the install hint when there are none.
TextCorpus load_fortunes(const std::filesystem::path& dir);
// The directory load_fortunes reads by default: $BEND_FORTUNES_DIR, else /usr/share/games/fortunes.
std::filesystem::path default_fortunes_dir();

// ValueError naming the corpus when a split is too short for one window of `block` tokens plus its
// target (both splits need at least block + 1 ids).
void check_block_fits(const TextCorpus& corpus, std::int64_t block);

// ids of `text` in `vocab` (sorted). ValueError naming the first character that is not in it.
std::vector<std::int32_t> encode_text(std::u32string_view text, std::u32string_view vocab);

// nanoGPT's get_batch: x [batch, block] (ids as float32, Embedding's input), y the next ids
// (batch·block of them, row-major), offsets drawn with rng.below(size - block).
void text_batch(std::span<const std::int32_t> data, std::int64_t batch, std::int64_t block, Rng& rng,
                Tensor& x, std::vector<std::int32_t>& y);

}  // namespace bend
