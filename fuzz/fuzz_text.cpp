// libFuzzer target: the text corpus reader (UTF-8 decoding, the character vocabulary, the 90/10 split)
// and what training does with it: the block check, a batch of windows, and the vocabulary as a saved
// model stores it ("bend.vocab"), read back.
#include <algorithm>

#include "bend/data/text.hpp"
#include "bend/rng.hpp"
#include "fuzz_target.hpp"

namespace {
void parse(std::span<const std::uint8_t> input) {
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  const bend::TextCorpus corpus = bend::make_text_corpus(text, "fuzz.txt", "fuzz.txt");
  BEND_FUZZ_CHECK(corpus.characters == static_cast<std::int64_t>(corpus.train.size() + corpus.val.size()));
  BEND_FUZZ_CHECK(corpus.vocab_size() > 0);
  BEND_FUZZ_CHECK(std::is_sorted(corpus.vocab.begin(), corpus.vocab.end()));
  BEND_FUZZ_CHECK(std::adjacent_find(corpus.vocab.begin(), corpus.vocab.end()) == corpus.vocab.end());
  for (const auto* split : {&corpus.train, &corpus.val})
    for (const std::int32_t id : *split) BEND_FUZZ_CHECK(id >= 0 && id < corpus.vocab_size());
  // The vocabulary round-trips through its UTF-8 form, as a checkpoint's "bend.vocab" does.
  BEND_FUZZ_CHECK(bend::decode_utf8(corpus.vocab_utf8(), "bend.vocab") == corpus.vocab);
  // The ids decode back to the text.
  std::u32string decoded;
  for (const auto* split : {&corpus.train, &corpus.val})
    for (const std::int32_t id : *split) decoded.push_back(corpus.vocab[static_cast<std::size_t>(id)]);
  BEND_FUZZ_CHECK(bend::encode_utf8(decoded) == text);
  // A batch of windows, when the splits are long enough for a block of 4.
  const std::int64_t block = 4;
  bend::check_block_fits(corpus, block);
  bend::Rng rng(1);
  bend::Tensor x;
  std::vector<std::int32_t> y;
  bend::text_batch(corpus.train, 2, block, rng, x, y);
  BEND_FUZZ_CHECK(y.size() == 2u * block);
  for (const std::int32_t id : y) BEND_FUZZ_CHECK(id >= 0 && id < corpus.vocab_size());
}
}  // namespace

BEND_FUZZ_TARGET(parse)
