// Language models with a word vocabulary and an adaptive head: tokenising, the vocabulary's order and
// cuts, the GPT with AdaptiveLogSoftmaxWithLoss as lm_head (PyTorch's names, loss, sampling), PyTorch
// loading such a file and computing the same loss, and the CLI's runs and one-line errors.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "bend/autograd.hpp"
#include "bend/data/text.hpp"
#include "bend/data/word_vocab.hpp"
#include "bend/error.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/train/gpt_source.hpp"
#include "bend/train/trainer.hpp"
#include "gpt_support.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
using bend::Tensor;
using bend::testing::one_line;
using bend::testing::write_text;

namespace {

// A small text of words with a skewed frequency (about 4 KB).
std::string word_text() {
  std::string text;
  const char* lines[] = {"the cat sat on the mat.\n", "the dog didn't sit, it ran!\n",
                         "a cat and a dog (and the bird) sat.\n", "to be or not to be: that is it?\n",
                         "rare words: zebra, quokka, axolotl.\n"};
  for (int i = 0; i < 40; ++i) text += lines[i % 5];
  return "a hapax here, once.\n" + text;  // hapax, here and once: seen once
}

bend::nn::GPTConfig tiny_config() { return bend::testing::tiny_gpt_config(1, 8); }

bend::train::TrainConfig tiny_run(const fs::path& dir, std::int64_t steps) {
  return bend::testing::tiny_text_run(dir, steps,
                                      {.block_size = 8, .warmup_steps = 2, .seed = 5, .eval_iters = 3});
}

bend::VocabOptions words(std::int64_t size = 0, std::int64_t min_count = 1) {
  bend::VocabOptions v;
  v.kind = "word";
  v.word.size = size;
  v.word.min_count = min_count;
  return v;
}

}  // namespace

TEST_CASE("words: words and punctuation are tokens, newlines too, spaces go", "[gpt][words]") {
  const auto tokens = bend::split_words(bend::decode_utf8("Don't stop--now!\n  x2 (café) “ok”\tend.", "t"));
  const std::vector<std::string> expected = {"Don't", "stop", "-", "-", "now", "!", "\n",  "x2",
                                             "(",     "café", ")", "“", "ok",  "”", "end", "."};
  CHECK(tokens == expected);
  CHECK(bend::split_words(U"'quoted' it's") == std::vector<std::string>{"'", "quoted", "'", "it's"});
  CHECK(bend::split_words(U"  \t ").empty());
}

TEST_CASE("words: <unk> first, then by frequency, ties in code-point order; the cuts", "[gpt][words]") {
  // b ×3, a ×2, c ×2, "." ×2, d ×1
  const auto tokens = bend::split_words(U"b a c b . a c b . d");
  CHECK(bend::build_word_vocab(tokens, {}) == std::vector<std::string>{"<unk>", "b", ".", "a", "c", "d"});
  CHECK(bend::build_word_vocab(tokens, {0, 2}) == std::vector<std::string>{"<unk>", "b", ".", "a", "c"});
  CHECK(bend::build_word_vocab(tokens, {3, 1}) == std::vector<std::string>{"<unk>", "b", "."});
  CHECK(bend::build_word_vocab(tokens, {3, 3}) == std::vector<std::string>{"<unk>", "b"});
  CHECK_THROWS_WITH(bend::build_word_vocab(tokens, {1, 1}), Catch::Contains("--vocab-size"));
  CHECK_THROWS_WITH(bend::build_word_vocab(tokens, {0, 0}), Catch::Contains("--min-count"));

  // The corpus: cut words are <unk> (id 0), the split is 90/10 of the tokens.
  const bend::TextCorpus c = bend::make_text_corpus("b a c b . a c b . d", "t", "t", words(4));
  CHECK(c.is_word());
  CHECK(c.vocab_size() == 4);
  CHECK(c.words == std::vector<std::string>{"<unk>", "b", ".", "a"});
  CHECK(c.characters == 10);
  CHECK(c.unknown == 3);  // c, c, d
  CHECK(c.train == std::vector<std::int32_t>{1, 3, 0, 1, 2, 3, 0, 1, 2});
  CHECK(c.val == std::vector<std::int32_t>{0});
  CHECK(bend::parse_word_vocab(c.vocab_utf8(), "v") == c.words);
  // A newline token survives the saved form.
  const bend::TextCorpus lines = bend::make_text_corpus("a\nb a\n", "l", "l", words());
  CHECK(bend::parse_word_vocab(lines.vocab_utf8(), "v") == lines.words);
  CHECK(std::find(lines.words.begin(), lines.words.end(), "\n") != lines.words.end());

  CHECK_THROWS_WITH(bend::make_text_corpus(" \t ", "w", "blank.txt", words()).vocab_size(),
                    Catch::Contains("blank.txt") && Catch::Contains("no words"));
  bend::VocabOptions bad;
  bad.word.size = 10;
  CHECK_THROWS_WITH(bend::make_text_corpus("abc", "c", "c", bad), Catch::Contains("--vocab word"));
  bad.kind = "bytes";
  CHECK_THROWS_WITH(bend::make_text_corpus("abc", "c", "c", bad), Catch::Contains("--vocab must be"));
  CHECK_THROWS_WITH(bend::encode_words(U"a zebra", c.words),
                    Catch::Contains("'zebra'") && Catch::Contains("not in the vocabulary"));
  CHECK(bend::word_separator("the", "cat") == " ");
  CHECK(bend::word_separator("cat", ".") == "");
  CHECK(bend::word_separator("\n", "the") == "");
  CHECK(bend::word_separator("(", "the") == "");
}

TEST_CASE("GPT with an adaptive head: PyTorch's names, untied, its loss and log-probabilities",
          "[gpt][words]") {
  bend::Rng rng(1);
  bend::nn::GPTConfig c = tiny_config();
  c.vocab_size = 30;
  c.head = "adaptive";
  c.cutoffs = {5, 15};
  bend::nn::GPT gpt(c, rng);
  std::vector<std::string> names;
  for (const auto& [name, t] : gpt.state_dict()) names.push_back(name);
  const auto at = [&](const std::string& name) { return std::find(names.begin(), names.end(), name); };
  REQUIRE(at("lm_head.head.weight") != names.end());
  CHECK(at("lm_head.tail.0.0.weight") == at("lm_head.head.weight") + 1);
  CHECK(at("lm_head.tail.0.1.weight") == at("lm_head.head.weight") + 2);
  CHECK(at("lm_head.tail.1.0.weight") == at("lm_head.head.weight") + 3);
  CHECK(at("lm_head.tail.1.1.weight") == at("lm_head.head.weight") + 4);
  CHECK(names.back() == "lm_head.tail.1.1.weight");
  CHECK(at("lm_head.weight") == names.end());
  const auto state = gpt.state_dict();
  const auto tensor = [&](const std::string& name) {
    return state[static_cast<std::size_t>(at(name) - names.begin())].second;
  };
  CHECK(tensor("lm_head.head.weight").shape() == bend::Shape{5 + 2, 16});  // shortlist + 2 clusters
  CHECK(tensor("lm_head.tail.0.0.weight").shape() == bend::Shape{4, 16});  // 16 // 4
  CHECK(tensor("lm_head.tail.0.1.weight").shape() == bend::Shape{10, 4});
  CHECK(tensor("lm_head.tail.1.0.weight").shape() == bend::Shape{1, 16});  // 16 // 16
  CHECK(tensor("lm_head.tail.1.1.weight").shape() == bend::Shape{15, 1});
  // Not tied: no tensor shares the embedding's storage.
  for (const auto& [name, t] : state)
    if (name != "transformer.wte.weight") CHECK(t.impl() != tensor("transformer.wte.weight").impl());

  // forward gives log-probabilities; loss is their mean negative at the targets.
  gpt.eval();
  bend::NoGradGuard no_grad;
  Tensor idx = Tensor::from({1, 7, 20, 3, 29, 0, 14, 5}, bend::Shape{2, 4});
  const Tensor logp = gpt.forward(idx);
  REQUIRE(logp.shape() == bend::Shape{2, 4, 30});
  const std::vector<std::int32_t> targets = {7, 20, 3, 29, 0, 14, 5, 16};
  double nll = 0;
  for (std::size_t r = 0; r < 8; ++r) {
    double total = 0;
    for (std::int64_t v = 0; v < 30; ++v)
      total += std::exp(logp.data()[static_cast<std::int64_t>(r) * 30 + v]);
    CHECK(total == Approx(1.0).epsilon(1e-4));
    nll -= logp.data()[static_cast<std::int64_t>(r) * 30 + targets[r]];
  }
  CHECK(gpt.loss(idx, targets).item() == Approx(nll / 8).epsilon(1e-5));

  // Sampling draws from the log-probabilities: deterministic at a seed.
  const auto sample = [&](std::uint64_t seed) {
    std::vector<std::int32_t> ids = {1};
    bend::Rng r(seed);
    bend::nn::generate(gpt, ids, 12, 1.0f, 10, r);
    return ids;
  };
  CHECK(sample(3) == sample(3));
  CHECK(sample(3).size() == 13);

  // Bad cutoffs: one line each.
  for (const std::vector<std::int64_t>& bad :
       {std::vector<std::int64_t>{15, 5}, std::vector<std::int64_t>{5, 30}, std::vector<std::int64_t>{0, 5},
        std::vector<std::int64_t>{}}) {
    c.cutoffs = bad;
    CHECK_THROWS_WITH(c.validate(),
                      Catch::Contains("--cutoffs") && Catch::Contains("increasing") && Catch::Contains("29"));
  }
  c.head = "full";
  c.cutoffs = {5};
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("--head adaptive"));
}

TEST_CASE(
    "word-level GPT with an adaptive head trains, resumes bit-identically, and refuses another "
    "vocabulary",
    "[gpt][words]") {
  bend::testing::ScratchDir dir("bend_test_gpt_words");
  const bend::TextCorpus corpus = bend::make_text_corpus(word_text(), "words", "words", words(0, 2));
  bend::nn::GPTConfig g = tiny_config();
  g.head = "adaptive";
  g.cutoffs = {4, 12};
  const auto source = bend::train::gpt_source(g, corpus.vocab_utf8(), corpus.vocab_options);
  CHECK(source.metadata.at("bend.vocab.kind") == "word");
  CHECK(source.metadata.at("bend.gpt.cutoffs") == "4,12");

  bend::train::TrainConfig straight_config = tiny_run(dir.path() / "straight", 30);
  straight_config.save = dir.path() / "gpt.safetensors";
  bend::train::Trainer straight(straight_config, source, corpus);
  const bend::train::TrainResult s = straight.run();
  REQUIRE(s.history.size() == 4);
  CHECK(s.history.front().train_loss ==
        Approx(std::log(static_cast<double>(corpus.vocab_size()))).epsilon(0.15));
  CHECK(s.history.back().train_loss < s.history.front().train_loss - 0.5);

  // The saved file describes the model and its vocabulary.
  bend::nn::Metadata m;
  (void)bend::nn::load_tensors(straight_config.save, &m);
  const bend::nn::GPTConfig back = bend::train::gpt_config_from(m, straight_config.save);
  CHECK(back.head == "adaptive");
  CHECK(back.cutoffs == std::vector<std::int64_t>{4, 12});
  CHECK(back.vocab_size == corpus.vocab_size());
  CHECK(bend::train::vocab_options_from(m, straight_config.save).word.min_count == 2);

  // Stopped after step 13, resumed to 30: the same losses.
  const bend::train::TrainResult stopped =
      bend::testing::run_stopped_at(tiny_run(dir.path() / "resumed", 30), source, corpus, 13);
  REQUIRE(stopped.stopped);
  const bend::train::TrainConfig second =
      bend::testing::resuming(tiny_run(dir.path() / "resumed", 30), stopped.stop_checkpoint);
  bend::testing::check_same_losses(bend::train::Trainer(second, source, corpus).run(), s);

  // Another cut makes another vocabulary: refused.
  const bend::TextCorpus other = bend::make_text_corpus(word_text(), "words", "words", words(0, 1));
  const bend::train::TrainConfig wrong =
      bend::testing::resuming(tiny_run(dir.path() / "resumed", 30), stopped.stop_checkpoint);
  g.cutoffs = {4, 12};
  CHECK_THROWS_WITH(
      bend::train::Trainer(wrong, bend::train::gpt_source(g, other.vocab_utf8(), other.vocab_options), other),
      Catch::Contains("vocabulary") && Catch::Contains("words"));
}

TEST_CASE(
    "PyTorch loads a word-level GPT with nn.AdaptiveLogSoftmaxWithLoss as its head and computes "
    "the same loss",
    "[gpt][words][torch]") {
  if (!bend::testing::require_torch()) return;
  bend::testing::ScratchDir dir("bend_test_gpt_words_torch");
  const bend::TextCorpus corpus = bend::make_text_corpus(word_text(), "words", "words", words());
  for (const bool bias : {true, false}) {
    INFO("bias " << bias);
    bend::nn::GPTConfig g = tiny_config();
    g.bias = bias;
    g.head = "adaptive";
    g.cutoffs = {3, 10, 20};  // three clusters, tails 16 // 2, // 4, // 8 wide
    g.div_value = 2.0;
    bend::train::TrainConfig c = tiny_run(dir.path(), 12);
    c.save = dir.path() / "gpt.safetensors";
    bend::train::Trainer trainer(c, bend::train::gpt_source(g, corpus.vocab_utf8(), corpus.vocab_options),
                                 corpus);
    trainer.run();
    bend::Rng rng(9);
    Tensor x;
    std::vector<std::int32_t> y;
    bend::text_batch(corpus.val, 4, 8, rng, x, y);
    bend::NoGradGuard no_grad;
    trainer.model().eval();
    const float loss = dynamic_cast<bend::nn::GPT&>(trainer.model()).loss(x, y).item();
    const bend::testing::TorchGptLoss torch = bend::testing::torch_gpt_loss(c.save, x, y, dir.path());
    INFO(torch.out);
    CHECK_THAT(torch.out, Catch::Contains("\"head\": \"adaptive\""));
    CHECK(torch.loss == Approx(loss).epsilon(1e-5));
  }
}

#ifdef BEND_CLI_PATH  // (a build without the CLI, e.g. scripts/tsan.sh's, leaves it out)
TEST_CASE("bend train --vocab word --head adaptive and bend generate: runs, and one line per bad input",
          "[gpt][words][cli]") {
  bend::testing::ScratchDir dir("bend_test_gpt_words_cli");
  const fs::path text = dir.path() / "words.txt";
  write_text(text, word_text());
  const std::string bend_cli = BEND_CLI_PATH;
  const std::string common = bend::testing::tiny_gpt_cli_flags(8, dir.path() / "ck");
  const auto run = [&](const std::string& args) { return bend::testing::run_command(bend_cli + " " + args); };
  const std::string model = (dir.path() / "gpt.safetensors").string();
  const auto trained =
      run("train --model gpt --text " + text.string() +
          " --vocab word --min-count 2 --head adaptive --cutoffs 4,12 --steps 10 --save " + model + common);
  INFO(trained.out);
  REQUIRE(trained.code == 0);
  CHECK_THAT(trained.out, Catch::Contains("words") && Catch::Contains("head=adaptive"));

  const auto a = run("generate --model " + model + " --prompt 'the cat' --tokens 12 --seed 3");
  const auto b = run("generate --model " + model + " --prompt 'the cat' --tokens 12 --seed 3");
  INFO(a.out);
  CHECK(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out.starts_with("the cat"));
  const auto info = run("info " + model);
  CHECK_THAT(info.out, Catch::Contains("adaptive head") && Catch::Contains("words"));

  const auto unknown = run("generate --model " + model + " --prompt 'the hapax'");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.out, Catch::Contains("'hapax'") && Catch::Contains("not in the vocabulary"));
  CHECK(one_line(unknown));

  // Resuming with another cut: the vocabulary differs.
  const auto wrong_vocab =
      run("train --model gpt --text " + text.string() + " --vocab word --min-count 1 --resume " +
          (dir.path() / "ck" / "checkpoint.safetensors").string() + common);
  CHECK(wrong_vocab.code != 0);
  CHECK_THAT(wrong_vocab.out, Catch::Contains("vocabulary"));
  CHECK(one_line(wrong_vocab));
  // Without the flags, a resume takes the checkpoint's vocabulary and head.
  const auto resumed = run("train --model gpt --text " + text.string() + " --resume " +
                           (dir.path() / "ck" / "checkpoint.safetensors").string() + common);
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("head=adaptive") && Catch::Contains("resumed from"));

  for (const char* cutoffs : {"12,4", "4,400", "4,x"}) {
    const auto bad = run("train --model gpt --text " + text.string() +
                         " --vocab word --head adaptive --cutoffs " + cutoffs + common);
    INFO(cutoffs);
    CHECK(bad.code == 2);
    CHECK_THAT(bad.out, Catch::Contains("--cutoffs"));
    CHECK(one_line(bad));
  }
  // A word text shorter than one block says so in words.
  const fs::path few = dir.path() / "few.txt";
  write_text(few, "only a handful of words here, and then the text stops.");
  const auto too_short = run("train --model gpt --vocab word --text " + few.string() + common);
  CHECK(too_short.code != 0);
  CHECK_THAT(too_short.out, Catch::Contains("shorter than one block") && Catch::Contains("words"));
  CHECK(one_line(too_short));
  // A classifier's file given to bend generate.
  const fs::path classifier = dir.path() / "mlp.safetensors";
  bend::nn::save_tensors(classifier, {{"0.weight", Tensor::zeros(bend::Shape{10, 784})}},
                         {{"bend.arch", "784-10"}});
  const auto not_gpt = run("generate --model " + classifier.string());
  CHECK(not_gpt.code == 2);
  CHECK_THAT(not_gpt.out, Catch::Contains("not a GPT") && Catch::Contains("784-10"));
  CHECK(one_line(not_gpt));
  const auto cut_chars = run("train --model gpt --text " + text.string() + " --vocab-size 10" + common);
  CHECK(cut_chars.code == 2);
  CHECK_THAT(cut_chars.out, Catch::Contains("--vocab word"));
  CHECK(one_line(cut_chars));
}

#endif  // BEND_CLI_PATH

}  // namespace BEND_UNITY_ID
