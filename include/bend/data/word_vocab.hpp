#pragma once
// The word-level vocabulary of a text (`bend train --model gpt --vocab word`): how a text is cut into
// words and punctuation, which of them are kept, in which order, and how generated words are joined.
//
// Tokens. A text is read left to right:
//   - a word is a maximal run of word characters: ASCII letters and digits and every code point from
//     U+0080 up, except the Unicode spaces (U+0085, U+00A0, U+1680, U+2000..U+200B, U+2028, U+2029,
//     U+202F, U+205F, U+3000) and the general punctuation U+2010..U+2027, U+2030..U+205E (dashes,
//     curly quotes, ellipsis); an apostrophe between two word characters joins them ("don't", "O'Brien");
//   - a newline is a token of its own ("\n"), so generated text keeps its lines;
//   - any other whitespace separates tokens and is dropped;
//   - every other character (punctuation, symbols: . , ! " % ( ...) is a token of its own.
// Case is kept: "The" and "the" are two words.
//
// The vocabulary. Id 0 is "<unk>", which stands for every token that was cut (it is always there, even
// when nothing was). Then the kept tokens, the most frequent first (counted over the whole text, both
// splits, as the character vocabulary is built from the whole text), ties in code-point order of the
// token's text. The cuts: tokens seen fewer than `min_count` times go, then only the most frequent
// `size - 1` of the rest stay (`size` counts <unk>). Frequent words get the small ids, which is what
// AdaptiveLogSoftmaxWithLoss's cutoffs expect.
//
// Saved models store the tokens joined by single spaces ("bend.vocab"; no token holds a space).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bend {

inline constexpr std::string_view kUnknownWord = "<unk>";

struct WordVocabOptions {
  std::int64_t size = 0;       // keep at most this many entries, <unk> included (0: no limit)
  std::int64_t min_count = 1;  // keep tokens seen at least this often

  // ValueError naming the flag (--vocab-size, --min-count) for a negative size, a size of 1 (only
  // <unk>) or a min_count below 1.
  void validate() const;
};

// The tokens of `text`, as UTF-8 strings, in order.
std::vector<std::string> split_words(std::u32string_view text);

// The vocabulary of `tokens`: "<unk>" first, then the kept tokens as described above.
std::vector<std::string> build_word_vocab(const std::vector<std::string>& tokens,
                                          const WordVocabOptions& options);

// The vocabulary as saved models store it, and back. parse_word_vocab throws IoError naming `where`
// when the text is empty or does not start with <unk>.
std::string join_word_vocab(const std::vector<std::string>& vocab);
std::vector<std::string> parse_word_vocab(std::string_view saved, std::string_view where);

// What to print before `token` when it follows `previous` in generated text: "" after a newline or
// an opening bracket, before a newline and before closing punctuation (. , ; : ! ? ) ] }),
// else one space. The spaces of the original text are not stored; this puts them back approximately.
std::string_view word_separator(std::string_view previous, std::string_view token);

}  // namespace bend
