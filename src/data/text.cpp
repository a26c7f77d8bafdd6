// Text corpora for language models: UTF-8 decoding, the character vocabulary, the 90/10 split and
// nanoGPT's get_batch.
#include "bend/data/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include <fmt/format.h>

#include "bend/detail/utf8.hpp"
#include "bend/error.hpp"
#include "bend/io/read_file.hpp"

namespace bend {

namespace fs = std::filesystem;

std::u32string decode_utf8(std::string_view text, std::string_view where) {
  std::u32string out;
  out.reserve(text.size());
  const auto bad = [&](std::size_t offset, std::string_view what) {
    return IoError(fmt::format("{}: not UTF-8: {} (byte 0x{:02X}) at byte offset {}", where, what,
                               static_cast<unsigned char>(text[offset]), offset));
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int extra = 0;
    char32_t c = 0, min = 0;
    if ((b & 0xE0) == 0xC0) {
      extra = 1, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, c = b & 0x07, min = 0x10000;
    } else {
      throw bad(i, (b & 0xC0) == 0x80 ? "a continuation byte without a lead byte" : "an invalid lead byte");
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= text.size()) throw bad(i, "a sequence cut off by the end of the text");
      const auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) throw bad(i, "a lead byte without its continuation bytes");
      c = (c << 6) | (cont & 0x3F);
    }
    if (c < min) throw bad(i, "an overlong sequence");
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) throw bad(i, "a code point outside Unicode's scalars");
    out.push_back(c);
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

std::string encode_utf8(char32_t c) {
  std::string out;
  detail::append_utf8(out, c);
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) detail::append_utf8(out, c);
  return out;
}

std::vector<std::int32_t> encode_text(std::u32string_view text, std::u32string_view vocab) {
  std::vector<std::int32_t> ids(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto it = std::lower_bound(vocab.begin(), vocab.end(), text[i]);
    if (it == vocab.end() || *it != text[i])
      throw ValueError(
          fmt::format("the character '{}' (U+{:04X}) at position {} is not in the vocabulary "
                      "of {} characters",
                      text[i] < 0x20 ? std::string("?") : encode_utf8(text[i]),
                      static_cast<std::uint32_t>(text[i]), i, vocab.size()));
    ids[i] = static_cast<std::int32_t>(it - vocab.begin());
  }
  return ids;
}

std::vector<std::int32_t> encode_words(std::u32string_view text, const std::vector<std::string>& vocab) {
  std::unordered_map<std::string_view, std::int32_t> index;
  for (std::size_t i = 0; i < vocab.size(); ++i) index.emplace(vocab[i], static_cast<std::int32_t>(i));
  const std::vector<std::string> tokens = split_words(text);
  std::vector<std::int32_t> ids;
  ids.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto it = index.find(tokens[i]);
    if (it == index.end())
      throw ValueError(fmt::format("the word '{}' (token {}) is not in the vocabulary of {} words",
                                   tokens[i] == "\n" ? std::string("\\n") : tokens[i], i, vocab.size()));
    ids.push_back(it->second);
  }
  return ids;
}

std::int64_t saved_vocab_size(std::string_view kind, std::string_view saved, std::string_view where) {
  if (kind == "word") return static_cast<std::int64_t>(parse_word_vocab(saved, where).size());
  return static_cast<std::int64_t>(decode_utf8(saved, where).size());
}

void VocabOptions::validate() const {
  if (kind != "char" && kind != "word")
    throw ValueError(fmt::format("--vocab must be char or word, got '{}'", kind));
  if (kind == "char" && (word.size != 0 || word.min_count != 1))
    throw ValueError("--vocab-size and --min-count cut a word vocabulary: give --vocab word with them");
  word.validate();
}

TextCorpus make_text_corpus(std::string_view utf8, std::string name, std::string_view where,
                            const VocabOptions& options) {
  options.validate();
  if (utf8.empty()) throw IoError(fmt::format("{}: the text is empty", where));
  const std::u32string text = decode_utf8(utf8, where);
  TextCorpus c;
  c.name = std::move(name);
  c.vocab_options = options;
  std::vector<std::int32_t> ids;
  if (options.is_word()) {
    const std::vector<std::string> tokens = split_words(text);
    if (tokens.empty()) throw IoError(fmt::format("{}: the text holds no words, only whitespace", where));
    c.words = build_word_vocab(tokens, options.word);
    std::unordered_map<std::string_view, std::int32_t> index;
    for (std::size_t i = 0; i < c.words.size(); ++i) index.emplace(c.words[i], static_cast<std::int32_t>(i));
    ids.reserve(tokens.size());
    for (const std::string& t : tokens) {
      const auto it = index.find(t);
      ids.push_back(it == index.end() ? 0 : it->second);  // 0: <unk>
      c.unknown += it == index.end() ? 1 : 0;
    }
  } else {
    c.vocab = text;
    std::sort(c.vocab.begin(), c.vocab.end());
    c.vocab.erase(std::unique(c.vocab.begin(), c.vocab.end()), c.vocab.end());
    ids = encode_text(text, c.vocab);
  }
  // nanoGPT: n = len(data); train = data[:int(n*0.9)]; val = data[int(n*0.9):]
  const auto n_train = static_cast<std::size_t>(static_cast<double>(ids.size()) * 0.9);
  c.train.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_train));
  c.val.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_train), ids.end());
  c.characters = static_cast<std::int64_t>(ids.size());
  return c;
}

namespace {
std::string read_all(const fs::path& file) {
  const std::vector<std::uint8_t> bytes = read_regular_file(file, "text file");
  return std::string(bytes.begin(), bytes.end());
}
}  // namespace

TextCorpus load_text_file(const fs::path& file, const VocabOptions& options) {
  return make_text_corpus(read_all(file), file.string(), file.string(), options);
}

fs::path default_fortunes_dir() {
  const char* value = std::getenv("BEND_FORTUNES_DIR");
  return value != nullptr && *value != '\0' ? fs::path(value) : fs::path("/usr/share/games/fortunes");
}

TextCorpus load_fortunes(const fs::path& dir, const VocabOptions& options) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec))
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (!entry.is_symlink() && entry.is_regular_file() && entry.path().extension() != ".dat")
        files.push_back(entry.path());
  if (files.empty())
    throw IoError(
        fmt::format("{}: no fortune files; install them with: apt-get install fortunes fortunes-min "
                    "(or set BEND_FORTUNES_DIR)",
                    dir.string()));
  std::sort(files.begin(), files.end());
  std::string text;
  for (const fs::path& f : files) text += read_all(f);
  return make_text_corpus(text, "fortunes", dir.string(), options);
}

void check_block_fits(const TextCorpus& corpus, std::int64_t block) {
  const auto shortest = static_cast<std::int64_t>(std::min(corpus.train.size(), corpus.val.size()));
  if (shortest < block + 1)
    throw ValueError(fmt::format(
        "{}: the text is shorter than one block: its {} split has {} {} of {} in all, and a "
        "window of --block-size {} needs {} (the block and its next-token targets)",
        corpus.name, corpus.val.size() <= corpus.train.size() ? "validation (last 10%)" : "training",
        shortest, corpus.unit(), corpus.characters, block, block + 1));
}

void text_batch(std::span<const std::int32_t> data, std::int64_t batch, std::int64_t block, Rng& rng,
                Tensor& x, std::vector<std::int32_t>& y) {
  const auto n = static_cast<std::int64_t>(data.size());
  if (n < block + 1)
    throw ValueError(fmt::format("text_batch: {} ids are fewer than block {} + 1", n, block));
  if (!x.defined() || x.shape() != Shape{batch, block}) x = Tensor::empty(Shape{batch, block});
  y.resize(static_cast<std::size_t>(batch * block));
  float* xs = x.data();
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto start = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - block)));
    for (std::int64_t t = 0; t < block; ++t) {
      xs[b * block + t] = static_cast<float>(data[static_cast<std::size_t>(start + t)]);
      y[static_cast<std::size_t>(b * block + t)] = data[static_cast<std::size_t>(start + t + 1)];
    }
  }
}

}  // namespace bend
