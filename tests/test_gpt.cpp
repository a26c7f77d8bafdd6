// Language models: text corpora (nanoGPT's vocabulary, split and get_batch), the GPT (nanoGPT's names
// and tying), nanoGPT's loop in the Trainer (loss falls, resume is bit-identical), sampling, the CLI's
// bad-input lines, and PyTorch loading a bend GPT and computing the same loss.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <optional>
#include <set>
#include <string>

#include "bend/autograd.hpp"
#include "bend/data/registry.hpp"
#include "bend/data/text.hpp"
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
using bend::testing::small_text;
using bend::testing::write_text;

namespace {

bend::nn::GPTConfig tiny_config(std::int64_t vocab) { return bend::testing::tiny_gpt_config(2, 16, vocab); }

bend::train::TrainConfig tiny_run(const fs::path& dir, std::int64_t steps) {
  return bend::testing::tiny_text_run(dir, steps,
                                      {.block_size = 16, .warmup_steps = 5, .seed = 3, .eval_iters = 4});
}

}  // namespace

TEST_CASE("text: the vocabulary is nanoGPT's sorted set of characters, split 90/10", "[gpt]") {
  const std::string text = "hello, wörld! ünïcode ∑ and 😀 too\n";
  const bend::TextCorpus c = bend::make_text_corpus(text, "t", "t");
  const std::u32string chars = bend::decode_utf8(text, "t");
  CHECK(std::is_sorted(c.vocab.begin(), c.vocab.end()));
  CHECK(std::set<char32_t>(chars.begin(), chars.end()).size() == c.vocab.size());
  CHECK(c.characters == static_cast<std::int64_t>(chars.size()));
  CHECK(c.train.size() == static_cast<std::size_t>(static_cast<double>(chars.size()) * 0.9));
  CHECK(c.train.size() + c.val.size() == chars.size());
  for (std::size_t i = 0; i < c.train.size(); ++i)
    CHECK(c.vocab[static_cast<std::size_t>(c.train[i])] == chars[i]);
  CHECK(c.vocab.front() == U'\n');  // the smallest code point first, as Python's sorted()
  CHECK(c.vocab.back() == U'😀');
  CHECK(bend::encode_utf8(c.vocab).size() > c.vocab.size());  // round trip through UTF-8
  CHECK(bend::decode_utf8(bend::encode_utf8(c.vocab), "v") == c.vocab);
}

TEST_CASE("text: bad input gets one clear line naming the problem", "[gpt]") {
  CHECK_THROWS_WITH(bend::make_text_corpus("", "e", "empty.txt"),
                    Catch::Contains("empty.txt: the text is empty"));
  std::string bad =
      "abc\xff"
      "def";
  CHECK_THROWS_WITH(bend::make_text_corpus(bad, "b", "bad.txt"),
                    Catch::Contains("bad.txt: not UTF-8") && Catch::Contains("byte offset 3"));
  CHECK_THROWS_WITH(bend::decode_utf8("ok \xc3", "cut"), Catch::Contains("byte offset 3"));
  CHECK_THROWS_WITH(bend::decode_utf8("\xc0\xaf", "overlong"), Catch::Contains("overlong"));
  CHECK_THROWS_WITH(bend::decode_utf8("x\xed\xa0\x80", "surrogate"), Catch::Contains("byte offset 1"));
  const bend::TextCorpus short_text = bend::make_text_corpus(std::string(100, 'a') + "b", "short", "short");
  CHECK_NOTHROW(bend::check_block_fits(short_text, 8));
  CHECK_THROWS_WITH(bend::check_block_fits(short_text, 64), Catch::Contains("shorter than one block"));
  CHECK_THROWS_WITH(bend::encode_text(U"ax", U"ab"),
                    Catch::Contains("'x'") && Catch::Contains("not in the vocabulary"));
}

TEST_CASE("text: batches are get_batch's windows with next-token targets, seeded", "[gpt]") {
  std::vector<std::int32_t> data(200);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::int32_t>(i);
  bend::Rng rng(7), again(7);
  Tensor x, x2;
  std::vector<std::int32_t> y, y2;
  bend::text_batch(data, 4, 10, rng, x, y);
  bend::text_batch(data, 4, 10, again, x2, y2);
  REQUIRE(x.shape() == bend::Shape{4, 10});
  REQUIRE(y.size() == 40);
  for (std::int64_t b = 0; b < 4; ++b) {
    const float start = x.data()[b * 10];
    CHECK(start >= 0);
    CHECK(start < 190);  // offsets in [0, len - block)
    for (std::int64_t t = 0; t < 10; ++t) {
      CHECK(x.data()[b * 10 + t] == start + static_cast<float>(t));
      CHECK(y[static_cast<std::size_t>(b * 10 + t)] == static_cast<std::int32_t>(start) + t + 1);
    }
  }
  CHECK(y == y2);
}

TEST_CASE("text: the fortunes corpus is in the dataset registry", "[gpt]") {
  const bend::DatasetEntry& e = bend::find_dataset("fortunes");
  CHECK(e.is_text());
  if (!bend::testing::require_available(
          fs::is_directory(e.default_dir()), "the fortune files",
          "apt-get install fortunes fortunes-min (scripts/install-deps.sh does)"))
    return;
  const bend::TextCorpus c = bend::load_text_dataset("fortunes", "");
  CHECK(c.characters > 2'000'000);
  CHECK(c.vocab_size() > 60);
  CHECK(c.vocab_size() < 300);
  CHECK_THROWS_WITH(bend::load_text_dataset("mnist", ""), Catch::Contains("not text"));
}

TEST_CASE("GPT: nanoGPT's state_dict names, the tied head and bias=False", "[gpt]") {
  bend::Rng rng(1);
  bend::nn::GPTConfig c = tiny_config(11);
  bend::nn::GPT gpt(c, rng);
  std::vector<std::string> names;
  for (const auto& [name, t] : gpt.state_dict()) names.push_back(name);
  std::vector<std::string> expected = {"transformer.wte.weight", "transformer.wpe.weight"};
  for (int i = 0; i < 2; ++i)
    for (const char* part : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"})
      expected.push_back("transformer.h." + std::to_string(i) + "." + part);
  expected.insert(expected.end(), {"transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"});
  CHECK(names == expected);
  const auto state = gpt.state_dict();
  CHECK(state.front().second.impl() == state.back().second.impl());  // lm_head.weight is wte.weight
  // named_parameters lists the tied tensor once, as torch's does.
  CHECK(gpt.named_parameters().size() == expected.size() - 1);
  const std::int64_t per_block =
      2 * 2 * 16 + (16 * 48 + 48) + (16 * 16 + 16) + (16 * 64 + 64) + (64 * 16 + 16);
  CHECK(gpt.num_parameters() == 11 * 16 + 16 * 16 + 2 * per_block + 2 * 16);
  // nanoGPT's init: c_proj's weights are narrower than the others.
  const auto stddev = [](const Tensor& t) {
    double s = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) s += static_cast<double>(t.data()[i]) * t.data()[i];
    return std::sqrt(s / static_cast<double>(t.numel()));
  };
  REQUIRE(state[4].first == "transformer.h.0.attn.c_attn.weight");
  REQUIRE(state[6].first == "transformer.h.0.attn.c_proj.weight");
  CHECK(stddev(state[4].second) == Approx(0.02).epsilon(0.15));
  CHECK(stddev(state[6].second) == Approx(0.02 / std::sqrt(4.0)).epsilon(0.25));  // 0.02 / sqrt(2 n_layer)

  c.bias = false;
  bend::nn::GPT no_bias(c, rng);
  for (const auto& [name, t] : no_bias.state_dict()) CHECK(!name.ends_with(".bias"));
  CHECK(no_bias.state_dict().size() == 2 + 2 * 6 + 1 + 1);

  Tensor idx = Tensor::zeros(bend::Shape{3, 5});
  CHECK(gpt.forward(idx).shape() == bend::Shape{3, 5, 11});
  CHECK_THROWS_AS(gpt.forward(Tensor::zeros(bend::Shape{1, 17})), bend::ShapeError);
  c.activation = "swiglu";
  bend::nn::GPT gated(c, rng);
  CHECK(gated.forward(idx).shape() == bend::Shape{3, 5, 11});
}

TEST_CASE("GPT: causal: a position's logits do not depend on later tokens", "[gpt]") {
  bend::Rng rng(2);
  bend::nn::GPT gpt(tiny_config(7), rng);
  gpt.eval();
  Tensor a = Tensor::from({1, 2, 3, 4, 5, 6}, bend::Shape{1, 6});
  Tensor b = Tensor::from({1, 2, 3, 0, 0, 0}, bend::Shape{1, 6});
  const Tensor la = gpt.forward(a), lb = gpt.forward(b);
  for (std::int64_t i = 0; i < 3 * 7; ++i) CHECK(la.data()[i] == lb.data()[i]);
  bool later_differ = false;
  for (std::int64_t i = 3 * 7; i < 6 * 7; ++i) later_differ |= la.data()[i] != lb.data()[i];
  CHECK(later_differ);
}

TEST_CASE("GPT in the Trainer: nanoGPT's loop lowers the loss and resumes bit-identically", "[gpt]") {
  bend::testing::ScratchDir dir("bend_test_gpt_resume");
  const bend::TextCorpus corpus = bend::make_text_corpus(small_text(), "small", "small");
  const auto source = bend::train::gpt_source(tiny_config(0), corpus.vocab_utf8());

  bend::train::TrainConfig straight_config = tiny_run(dir.path() / "straight", 40);
  straight_config.save = dir.path() / "gpt.safetensors";
  bend::train::Trainer straight(straight_config, source, corpus);
  const bend::train::TrainResult s = straight.run();
  REQUIRE(s.history.size() == 5);  // steps 0, 10, 20, 30, 40
  CHECK(s.history.back().steps == 40);
  CHECK(s.history.back().train_loss < s.history.front().train_loss - 0.5);
  CHECK(s.history.back().test_loss < s.history.front().test_loss - 0.5);
  CHECK(s.history.front().train_loss ==
        Approx(std::log(static_cast<double>(corpus.vocab_size()))).epsilon(0.1));
  CHECK(straight.optimizer().lr() ==
        Approx(1e-3 + 0.5 * (1 + std::cos(std::numbers::pi * 34.0 / 35.0)) * 9e-3));

  // Stopped after step 17 (as Ctrl-C), then resumed to 40.
  const bend::train::TrainResult stopped =
      bend::testing::run_stopped_at(tiny_run(dir.path() / "resumed", 40), source, corpus, 17);
  REQUIRE(stopped.stopped);
  CHECK(stopped.steps == 17);
  bend::train::Trainer resumed(
      bend::testing::resuming(tiny_run(dir.path() / "resumed", 40), stopped.stop_checkpoint), source, corpus);
  CHECK(resumed.steps_done() == 17);
  bend::testing::check_same_losses(resumed.run(), s);
  const auto a = straight.model().state_dict(), b = resumed.model().state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(std::memcmp(a[i].second.data(), b[i].second.data(), sizeof(float) * a[i].second.numel()) == 0);
  }

  // Another text's vocabulary does not resume.
  const bend::TextCorpus other = bend::make_text_corpus(small_text() + "XYZ", "other", "other");
  const bend::train::TrainConfig wrong =
      bend::testing::resuming(tiny_run(dir.path() / "resumed", 40), stopped.stop_checkpoint);
  CHECK_THROWS_WITH(
      bend::train::Trainer(wrong, bend::train::gpt_source(tiny_config(0), other.vocab_utf8()), other),
      Catch::Contains("vocabulary") && Catch::Contains("other"));
}

TEST_CASE("GPT sampling is deterministic at a fixed seed and follows top-k", "[gpt]") {
  bend::Rng init(4);
  bend::nn::GPT gpt(tiny_config(9), init);
  const auto sample = [&](std::uint64_t seed, std::optional<std::int64_t> k, float temperature) {
    std::vector<std::int32_t> ids = {1, 2};
    bend::Rng rng(seed);
    std::vector<std::int32_t> streamed;
    bend::nn::generate(gpt, ids, 30, temperature, k, rng, [&](std::int32_t id) { streamed.push_back(id); });
    CHECK(ids.size() == 32);
    CHECK(std::equal(streamed.begin(), streamed.end(), ids.begin() + 2));
    return ids;
  };
  CHECK(sample(5, 200, 0.8f) == sample(5, 200, 0.8f));
  CHECK(sample(5, std::nullopt, 1.0f) != sample(6, std::nullopt, 1.0f));
  // top_k = 1 is greedy: every draw is the argmax of the last logits.
  const std::vector<std::int32_t> greedy = sample(5, 1, 1.0f);
  bend::NoGradGuard no_grad;
  for (std::size_t n = 2; n < 20; ++n) {
    Tensor context = Tensor::empty(bend::Shape{1, static_cast<std::int64_t>(std::min<std::size_t>(n, 16))});
    for (std::int64_t i = 0; i < context.numel(); ++i)
      context.data()[i] = static_cast<float>(
          greedy[n - static_cast<std::size_t>(context.numel()) + static_cast<std::size_t>(i)]);
    const Tensor logits = gpt.forward(context);
    const float* last = logits.data() + (context.numel() - 1) * 9;
    CHECK(std::max_element(last, last + 9) - last == greedy[n]);
  }
  std::vector<std::int32_t> empty;
  bend::Rng rng(1);
  CHECK_THROWS_AS(bend::nn::generate(gpt, empty, 3, 1.0f, {}, rng), bend::ValueError);
}

TEST_CASE("PyTorch loads a bend GPT into a nanoGPT-shaped module and computes the same loss",
          "[gpt][torch]") {
  if (!bend::testing::require_torch()) return;
  bend::testing::ScratchDir dir("bend_test_gpt_torch");
  const bend::TextCorpus corpus = bend::make_text_corpus(small_text(), "small", "small");
  for (const bool bias : {true, false}) {
    INFO("bias " << bias);
    bend::nn::GPTConfig g = tiny_config(0);
    g.bias = bias;
    bend::train::TrainConfig c = tiny_run(dir.path(), 12);
    c.save = dir.path() / "gpt.safetensors";
    bend::train::Trainer trainer(c, bend::train::gpt_source(g, corpus.vocab_utf8()), corpus);
    trainer.run();
    bend::Rng rng(9);
    Tensor x;
    std::vector<std::int32_t> y;
    bend::text_batch(corpus.val, 4, 16, rng, x, y);
    bend::NoGradGuard no_grad;
    trainer.model().eval();
    const Tensor logits = trainer.model().forward(x);
    const float loss = bend::cross_entropy(bend::reshape(logits, {-1, corpus.vocab_size()}), y).item();
    const bend::testing::TorchGptLoss torch = bend::testing::torch_gpt_loss(c.save, x, y, dir.path());
    INFO(torch.out);
    CHECK(torch.loss == Approx(loss).epsilon(1e-5));
    CHECK_THAT(torch.out, Catch::Contains("attn.bias"));  // only the causal masks were missing
  }
}

#ifdef BEND_CLI_PATH  // (a build without the CLI, e.g. scripts/tsan.sh's, leaves it out)
TEST_CASE("bend train --model gpt and bend generate: runs, streams, and one line per bad input",
          "[gpt][cli]") {
  bend::testing::ScratchDir dir("bend_test_gpt_cli");
  const fs::path text = dir.path() / "small.txt";
  write_text(text, small_text());
  const std::string bend_cli = BEND_CLI_PATH;
  const std::string common = bend::testing::tiny_gpt_cli_flags(16, dir.path() / "ck");
  const auto run = [&](const std::string& args) { return bend::testing::run_command(bend_cli + " " + args); };
  const auto trained = run("train --model gpt --text " + text.string() + " --steps 10 --save " +
                           (dir.path() / "gpt.safetensors").string() + common);
  INFO(trained.out);
  REQUIRE(trained.code == 0);
  CHECK_THAT(trained.out, Catch::Contains("step 0: train loss") && Catch::Contains("step 10: val loss"));

  const std::string model = (dir.path() / "gpt.safetensors").string();
  const auto a = run("generate --model " + model + " --prompt 'the ' --tokens 40 --seed 3");
  const auto b = run("generate --model " + model + " --prompt 'the ' --tokens 40 --seed 3");
  CHECK(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out.starts_with("the "));

  const auto bad_prompt = run("generate --model " + model + " --prompt 'Q'");
  CHECK(bad_prompt.code == 2);
  CHECK_THAT(bad_prompt.out, Catch::Contains("'Q'") && Catch::Contains("not in the vocabulary"));
  CHECK(one_line(bad_prompt));

  const fs::path latin1 = dir.path() / "latin1.txt";
  write_text(latin1, "caf\xe9 au lait");
  const auto not_utf8 = run("train --model gpt --text " + latin1.string() + common);
  CHECK(not_utf8.code != 0);
  CHECK_THAT(not_utf8.out, Catch::Contains("not UTF-8") && Catch::Contains("byte offset 3"));
  CHECK(one_line(not_utf8));
  const fs::path empty = dir.path() / "empty.txt";
  write_text(empty, "");
  const auto empty_run = run("train --model gpt --text " + empty.string() + common);
  CHECK_THAT(empty_run.out, Catch::Contains("empty"));
  CHECK(one_line(empty_run));
  const fs::path tiny = dir.path() / "tiny.txt";
  write_text(tiny, "just a few words here, not many");
  const auto too_short = run("train --model gpt --text " + tiny.string() + common);
  CHECK_THAT(too_short.out, Catch::Contains("shorter than one block"));
  CHECK(one_line(too_short));

  // A resume on another text: its vocabulary differs.
  const fs::path other = dir.path() / "other.txt";
  write_text(other, small_text() + "QQQ");
  const auto wrong_vocab = run("train --model gpt --text " + other.string() + " --steps 10 --resume " +
                               (dir.path() / "ck" / "checkpoint.safetensors").string() + common);
  CHECK(wrong_vocab.code != 0);
  CHECK_THAT(wrong_vocab.out, Catch::Contains("vocabulary"));
  CHECK(one_line(wrong_vocab));

  // A model file given to the wrong kind of command.
  const auto eval_gpt = run("eval --model " + model);
  CHECK(eval_gpt.code != 0);
  CHECK_THAT(eval_gpt.out, Catch::Contains("GPT") && Catch::Contains("bend generate"));
  CHECK(one_line(eval_gpt));
  const auto text_without_gpt = run("train --text " + text.string());
  CHECK(text_without_gpt.code == 2);
  CHECK_THAT(text_without_gpt.out, Catch::Contains("--model gpt"));
}

#endif  // BEND_CLI_PATH

}  // namespace BEND_UNITY_ID
