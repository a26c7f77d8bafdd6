// The word-level vocabulary: tokenising, counting and cutting, saving, and joining generated words
// (see bend/data/word_vocab.hpp).
#include "bend/data/word_vocab.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "bend/detail/utf8.hpp"
#include "bend/error.hpp"

namespace bend {

namespace {

bool is_unicode_space(char32_t c) {
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_space(char32_t c) {
  return c == U' ' || (c < 0x20 && c != U'\n') || c == 0x7F || is_unicode_space(c);
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9');
  if (is_unicode_space(c)) return false;
  if ((c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E)) return false;  // general punctuation
  return true;
}

}  // namespace

void WordVocabOptions::validate() const {
  if (size < 0 || size == 1)
    throw ValueError(
        fmt::format("--vocab-size must be 0 (no limit) or at least 2 (<unk> and one word), got {}", size));
  if (min_count < 1) throw ValueError(fmt::format("--min-count must be at least 1, got {}", min_count));
}

std::vector<std::string> split_words(std::u32string_view text) {
  std::vector<std::string> out;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = text[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    std::string token;
    if (is_word_char(c)) {
      std::size_t j = i;
      while (j < n) {
        if (is_word_char(text[j])) {
          ++j;
        } else if (text[j] == U'\'' && j + 1 < n && is_word_char(text[j + 1])) {
          j += 2;  // an apostrophe inside a word
        } else {
          break;
        }
      }
      for (std::size_t k = i; k < j; ++k) detail::append_utf8(token, text[k]);
      i = j;
    } else {
      detail::append_utf8(token, c);  // a newline, or a punctuation mark or symbol
      ++i;
    }
    out.push_back(std::move(token));
  }
  return out;
}

std::vector<std::string> build_word_vocab(const std::vector<std::string>& tokens,
                                          const WordVocabOptions& options) {
  options.validate();
  std::unordered_map<std::string_view, std::int64_t> counts;
  for (const std::string& t : tokens) ++counts[t];
  std::vector<std::pair<std::string_view, std::int64_t>> kept;
  for (const auto& [token, count] : counts)
    if (count >= options.min_count && token != kUnknownWord) kept.emplace_back(token, count);
  // Most frequent first; ties by the text (byte order of UTF-8 is code-point order).
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (options.size > 0 && static_cast<std::int64_t>(kept.size()) > options.size - 1)
    kept.resize(static_cast<std::size_t>(options.size - 1));
  std::vector<std::string> vocab;
  vocab.reserve(kept.size() + 1);
  vocab.emplace_back(kUnknownWord);
  for (const auto& [token, count] : kept) vocab.emplace_back(token);
  return vocab;
}

std::string join_word_vocab(const std::vector<std::string>& vocab) {
  std::string out;
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    if (i > 0) out += ' ';
    out += vocab[i];
  }
  return out;
}

std::vector<std::string> parse_word_vocab(std::string_view saved, std::string_view where) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= saved.size()) {
    const std::size_t end = std::min(saved.find(' ', start), saved.size());
    out.emplace_back(saved.substr(start, end - start));
    start = end + 1;
  }
  if (out.empty() || out.front() != kUnknownWord)
    throw IoError(fmt::format("{}: the word vocabulary does not start with {}", where, kUnknownWord));
  return out;
}

std::string_view word_separator(std::string_view previous, std::string_view token) {
  static constexpr std::string_view closing[] = {".", ",", ";", ":", "!", "?", ")", "]", "}", "\n"};
  static constexpr std::string_view opening[] = {"(", "[", "{", "\n"};
  if (previous.empty() || std::find(std::begin(opening), std::end(opening), previous) != std::end(opening))
    return "";
  if (std::find(std::begin(closing), std::end(closing), token) != std::end(closing)) return "";
  return " ";
}

}  // namespace bend
