#pragma once
// Text for language models, as nanoGPT's data/*/prepare.py and train.py's get_batch make it.
//
// A TextCorpus is one UTF-8 text encoded with its character vocabulary: the sorted set of the text's
// characters (code points; Python's sorted(set(text))), so token ids agree with nanoGPT's. The first 90%
// of the ids are the training split, the rest the validation split (nanoGPT's int(n*0.9)).
//
// With a word vocabulary (VocabOptions kind "word", bend/data/word_vocab.hpp) the tokens are words and
// punctuation instead, "<unk>" first and the rest by frequency; the split and the batches are the same.
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

#include "bend/data/word_vocab.hpp"
#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend {

// The code points of `text`. IoError "<where>: not UTF-8: <what> at byte offset N" for an invalid,
// overlong, truncated or surrogate sequence.
std::u32string decode_utf8(std::string_view text, std::string_view where);
// One code point as UTF-8.
std::string encode_utf8(char32_t c);
std::string encode_utf8(std::u32string_view text);

// Which vocabulary a corpus is encoded with: "char" (nanoGPT's, the default) or "word" with its cuts.
struct VocabOptions {
  std::string kind = "char";
  WordVocabOptions word;  // kind "word" only

  bool is_word() const { return kind == "word"; }
  // ValueError naming --vocab for another kind, and the cuts' errors (WordVocabOptions::validate);
  // cuts given with kind "char" are an error too.
  void validate() const;
};

struct TextCorpus {
  std::string name;                 // "fortunes", or the file's path
  std::u32string vocab;             // kind "char": sorted distinct characters: id i is vocab[i]
  std::vector<std::string> words;   // kind "word": id i is words[i] (UTF-8), words[0] is "<unk>"
  std::vector<std::int32_t> train;  // ids of the first 90%
  std::vector<std::int32_t> val;    // ids of the rest
  std::int64_t characters = 0;      // train.size() + val.size(): tokens (characters or words)
  VocabOptions vocab_options;       // how the vocabulary was made
  std::int64_t unknown = 0;         // kind "word": tokens of the text encoded as <unk>

  bool is_word() const { return vocab_options.is_word(); }
  std::int64_t vocab_size() const {
    return static_cast<std::int64_t>(is_word() ? words.size() : vocab.size());
  }
  // "characters" or "words", for messages.
  const char* unit() const { return is_word() ? "words" : "characters"; }
  // The vocabulary as saved models store it ("bend.vocab"): the characters as UTF-8, or the words joined
  // by spaces (join_word_vocab).
  std::string vocab_utf8() const { return is_word() ? join_word_vocab(words) : encode_utf8(vocab); }
};

// The entries of a saved vocabulary ("bend.vocab") of `kind` ("char": its characters; "word": its
// words). IoError naming `where` when it does not parse.
std::int64_t saved_vocab_size(std::string_view kind, std::string_view saved, std::string_view where);

// Builds a corpus from UTF-8 text with the vocabulary `options` asks for. IoError naming `where` for text
// that is not UTF-8 (with the byte offset), is empty, or (word vocabulary) holds no token.
TextCorpus make_text_corpus(std::string_view utf8, std::string name, std::string_view where,
                            const VocabOptions& options = {});
// Reads and builds from one file (`bend train --text FILE`).
TextCorpus load_text_file(const std::filesystem::path& file, const VocabOptions& options = {});
// The fortune files of `dir` (fortune-mod's data files: regular files, not *.dat, not symlinks),
// concatenated in name order. IoError with the install hint when there are none.
TextCorpus load_fortunes(const std::filesystem::path& dir, const VocabOptions& options = {});
// The directory load_fortunes reads by default: $BEND_FORTUNES_DIR, else /usr/share/games/fortunes.
std::filesystem::path default_fortunes_dir();

// ValueError naming the corpus when a split is too short for one window of `block` tokens plus its
// target (both splits need at least block + 1 ids).
void check_block_fits(const TextCorpus& corpus, std::int64_t block);

// ids of `text` in `vocab` (sorted). ValueError naming the first character that is not in it.
std::vector<std::int32_t> encode_text(std::u32string_view text, std::u32string_view vocab);
// ids of `text`'s words (split_words) in a word vocabulary. ValueError naming the first word that is
// not in it (a prompt; training text maps such words to <unk> instead).
std::vector<std::int32_t> encode_words(std::u32string_view text, const std::vector<std::string>& vocab);

// nanoGPT's get_batch: x [batch, block] (ids as float32, Embedding's input), y the next ids
// (batch·block of them, row-major), offsets drawn with rng.below(size - block).
void text_batch(std::span<const std::int32_t> data, std::int64_t batch, std::int64_t block, Rng& rng,
                Tensor& x, std::vector<std::int32_t>& y);

}  // namespace bend
