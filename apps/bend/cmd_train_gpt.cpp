// bend train --model gpt: a character-level GPT on a text (nanoGPT's model and loop), in the one Trainer.
#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "bend/data/registry.hpp"
#include "bend/data/text.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/directory_lock.hpp"
#include "bend/train/gpt_source.hpp"
#include "bend/train/trainer.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

extern "C" void on_stop_signal(int) { train::request_stop(); }

// nanoGPT's own lines: "step 250: train loss 1.9, val loss 2.0" at each estimate, a progress line on a
// terminal in between.
class TextObserver : public train::TrainObserver {
 public:
  TextObserver(bool progress, bool quiet) : progress_(progress), quiet_(quiet) {}
  void on_start(train::Trainer& t) override {
    if (quiet_) return;
    const train::TrainConfig& c = t.config();
    fmt::print("{}\n{} parameters ({} without the position embedding)\n", t.model().describe(),
               t.model().num_parameters(), dynamic_cast<nn::GPT&>(t.model()).num_non_embedding_parameters());
    const TextCorpus& text = *t.text();
    fmt::print("data: {}: {} {}, vocabulary of {}{}, {} train / {} val\nrecipe: {}\n", text.name,
               text.characters, text.unit(), text.vocab_size(),
               text.is_word()
                   ? fmt::format(" words (<unk> stands for {:.2f}% of the text)",
                                 100.0 * static_cast<double>(text.unknown) /
                                     static_cast<double>(std::max<std::int64_t>(1, text.characters)))
                   : std::string(),
               text.train.size(), text.val.size(), t.recipe());
    if (t.steps_done() > 0)
      fmt::print("resumed from {} at step {}: model, optimizer state, data stream and schedule continue\n",
                 c.resume.string(), t.steps_done());
    fmt::print("\n");
    std::fflush(stdout);
  }
  void on_step(const train::StepProgress& p) override {
    if (!progress_ || quiet_) return;
    fmt::print(stderr, "\r\033[Kstep {}/{} loss {:.4f} ETA {:.0f}s", p.step, p.batches, p.loss,
               p.eta_seconds);
    std::fflush(stderr);
  }
  void on_epoch(const train::EpochMetrics& m) override {
    if (progress_ && !quiet_) fmt::print(stderr, "\r\033[K");
    if (!quiet_)
      fmt::print(
          "step {}: train loss {:.4f}, val loss {:.4f} (lr {:.3g}, {:.1f}s of training since the last)\n",
          m.steps, m.train_loss, m.test_loss, m.lr, m.seconds);
    std::fflush(stdout);
  }

 private:
  bool progress_, quiet_;
};

// A resumed run's loop setting `key`, or `fallback` for a new run.
double resumed_setting(const train::CheckpointState* resumed, const char* key, double fallback) {
  if (resumed == nullptr) return fallback;
  auto it = resumed->schedule_state.find(key);
  return it == resumed->schedule_state.end() ? fallback : it->second;
}

// "2000,10000" as numbers; UsageError naming `flag` for anything else.
std::vector<std::int64_t> parse_size_list(const std::string& text, const char* flag) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + end, v);
    if (ec != std::errc() || p != text.data() + end || start == end)
      throw UsageError(
          fmt::format("{} '{}': expected whole numbers separated by commas, e.g. 2000,10000", flag, text));
    out.push_back(v);
    start = end + 1;
  }
  return out;
}

}  // namespace

void add_gpt_flags(cxxopts::Options& options) {
  options.add_options("Language model (--model gpt; nanoGPT's names; defaults: nanoGPT's CPU settings)")(
      "text", "train on this UTF-8 file (90% train / 10% val) instead of --dataset (default: fortunes)",
      cxxopts::value<std::string>())("n-layer", "transformer blocks",
                                     cxxopts::value<std::int64_t>()->default_value("4"))(
      "n-head", "attention heads", cxxopts::value<std::int64_t>()->default_value("4"))(
      "n-embd", "embedding width", cxxopts::value<std::int64_t>()->default_value("128"))(
      "block-size", "context length in tokens", cxxopts::value<std::int64_t>()->default_value("64"))(
      "vocab", "tokens: char (nanoGPT's sorted characters) or word (words and punctuation, <unk> first)",
      cxxopts::value<std::string>())("vocab-size", "--vocab word: keep the K most frequent, <unk> included",
                                     cxxopts::value<std::int64_t>())(
      "min-count", "--vocab word: keep words seen at least N times", cxxopts::value<std::int64_t>())(
      "head", "full (a Linear tied to the token embedding) or adaptive (AdaptiveLogSoftmaxWithLoss, untied)",
      cxxopts::value<std::string>())("cutoffs", "--head adaptive: the clusters' first ids, e.g. 2000,10000",
                                     cxxopts::value<std::string>())(
      "div-value", "--head adaptive: each tail is n_embd / div-value^(i+1) wide (default 4)",
      cxxopts::value<double>())("bias", "bias in the Linears and LayerNorms (nanoGPT's train.py: false)",
                                cxxopts::value<bool>()->default_value("false")->implicit_value("true"))(
      "eval-interval", "estimate train and val loss every this many steps",
      cxxopts::value<std::int64_t>()->default_value("250"))(
      "eval-iters", "batches per estimate", cxxopts::value<std::int64_t>()->default_value("20"))(
      "warmup-iters", "linear learning-rate warm-up steps", cxxopts::value<std::int64_t>())(
      "min-lr", "the cosine ends here at --steps (default: --lr / 10)", cxxopts::value<double>())(
      "grad-clip", "clip gradients to this global norm (0: off)",
      cxxopts::value<double>()->default_value("1.0"))("beta2", "AdamW's beta2", cxxopts::value<double>());
}

GptSettings gpt_settings(const cxxopts::ParseResult& a, const train::CheckpointState* resumed) {
  // The text.
  std::string dataset = a.count("dataset") ? a["dataset"].as<std::string>() : "fortunes";
  if (resumed && !a.count("dataset") && !a.count("text")) {
    dataset = resumed->dataset;
    if (dataset == "text")
      throw UsageError("--resume: the checkpoint was trained on a --text file: give --text FILE again");
  }
  if (a.count("text") && a.count("dataset")) throw UsageError("give --text FILE or --dataset NAME, not both");
  // The vocabulary: the flags, or the checkpoint's kind and cuts where they are not given.
  VocabOptions vocab;
  if (resumed) vocab = train::vocab_options_from(resumed->model_metadata, a["resume"].as<std::string>());
  if (a.count("vocab")) vocab.kind = a["vocab"].as<std::string>();
  if (a.count("vocab-size")) vocab.word.size = a["vocab-size"].as<std::int64_t>();
  if (a.count("min-count")) vocab.word.min_count = a["min-count"].as<std::int64_t>();
  std::optional<TextCorpus> corpus;
  try {
    vocab.validate();
    if (a.count("text")) {
      corpus = load_text_file(a["text"].as<std::string>(), vocab);
      dataset = "text";
    } else {
      corpus = load_text_dataset(dataset, a.count("data-dir") ? a["data-dir"].as<std::string>() : "", vocab);
    }
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }

  // The model: the flags, or the checkpoint's where they are not given.
  nn::GPTConfig g;
  if (resumed) g = train::gpt_config_from(resumed->model_metadata, a["resume"].as<std::string>());
  const auto size = [&](const char* flag, std::int64_t& field) {
    if (!resumed || a.count(flag)) field = a[flag].as<std::int64_t>();
  };
  size("n-layer", g.n_layer);
  size("n-head", g.n_head);
  size("n-embd", g.n_embd);
  size("block-size", g.block_size);
  if (!resumed || a.count("bias")) g.bias = a["bias"].as<bool>();
  if (!resumed || a.count("act")) g.activation = a.count("act") ? a["act"].as<std::string>() : "gelu";
  if (!resumed || a.count("dropout")) g.dropout = a.count("dropout") ? a["dropout"].as<float>() : 0.0f;
  if (!resumed || a.count("head")) g.head = a.count("head") ? a["head"].as<std::string>() : "full";
  if (!resumed || a.count("cutoffs")) {
    g.cutoffs.clear();
    if (a.count("cutoffs")) g.cutoffs = parse_size_list(a["cutoffs"].as<std::string>(), "--cutoffs");
  }
  if (a.count("div-value")) g.div_value = a["div-value"].as<double>();

  // The loop: nanoGPT's CPU settings unless given (a resumed run keeps its own).
  train::TrainConfig c;
  c.dataset = dataset;
  if (a.count("text")) c.text_file = a["text"].as<std::string>();
  c.optimizer = a.count("opt") ? a["opt"].as<std::string>() : "adamw";
  if (a.count("lr") || !resumed) c.optimizer_options["lr"] = a.count("lr") ? a["lr"].as<double>() : 1e-3;
  if (a.count("weight-decay") || !resumed)
    c.optimizer_options["weight_decay"] = a.count("weight-decay") ? a["weight-decay"].as<double>() : 0.1;
  if (a.count("beta2") || (!resumed && c.optimizer.starts_with("adam")))
    c.optimizer_options["beta2"] = a.count("beta2") ? a["beta2"].as<double>() : 0.99;
  c.batch = a.count("batch") ? a["batch"].as<std::int64_t>() : resumed ? resumed->batch : 12;
  c.max_steps = a["steps"].as<std::int64_t>() > 0
                    ? a["steps"].as<std::int64_t>()
                    : static_cast<std::int64_t>(resumed_setting(resumed, "max_steps", 2000));
  c.warmup_steps = a.count("warmup-iters") ? a["warmup-iters"].as<std::int64_t>()
                   : a.count("warmup")
                       ? a["warmup"].as<std::int64_t>()
                       : static_cast<std::int64_t>(resumed_setting(resumed, "warmup_steps", 100));
  c.seed = a.count("seed") || !resumed ? a["seed"].as<std::uint64_t>() : resumed->seed;
  c.threads = a["threads"].as<int>();
  c.flush_denormal = a.count("flush-denormal") > 0;
  c.text.block_size = g.block_size;
  c.text.eval_interval = a.count("eval-interval") || !resumed
                             ? a["eval-interval"].as<std::int64_t>()
                             : static_cast<std::int64_t>(resumed_setting(resumed, "eval_interval", 250));
  c.text.eval_iters = a.count("eval-iters") || !resumed
                          ? a["eval-iters"].as<std::int64_t>()
                          : static_cast<std::int64_t>(resumed_setting(resumed, "eval_iters", 20));
  c.text.min_lr = a.count("min-lr") ? a["min-lr"].as<double>() : resumed_setting(resumed, "min_lr", -1);
  c.text.grad_clip = a.count("grad-clip") || !resumed ? a["grad-clip"].as<double>()
                                                      : resumed_setting(resumed, "grad_clip", 1.0);
  return {std::move(*corpus), g, c};
}

int train_gpt(const cxxopts::ParseResult& a, const train::CheckpointState* resumed) {
  GptSettings settings = gpt_settings(a, resumed);
  train::TrainConfig& c = settings.loop;
  const nn::GPTConfig& g = settings.model;
  std::optional<TextCorpus> corpus(std::move(settings.corpus));
  if (a.count("save")) c.save = a["save"].as<std::string>();
  c.checkpoint_dir = a["checkpoint-dir"].as<std::string>();
  c.checkpoint_every = checkpoint_every_flag(a);
  if (a.count("resume")) c.resume = a["resume"].as<std::string>();
  if (a.count("init-from")) c.init_from = a["init-from"].as<std::string>();
  const bool quiet = a.count("quiet") > 0;

  train::ModelSource source;
  try {
    c.validate();
    source = train::gpt_source(g, corpus->vocab_utf8(), corpus->vocab_options);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  std::optional<DirectoryLock> checkpoint_lock;  // one writer per checkpoint directory, for the whole run
  if (!c.checkpoint_dir.empty()) {
    checkpoint_lock.emplace(c.checkpoint_dir, "bend train", "--checkpoint-dir");
    if (const int stale = remove_stale_temporaries(c.checkpoint_dir); stale > 0)
      fmt::print(stderr, "removed {} temporary file{} of killed runs from {}\n", stale, stale == 1 ? "" : "s",
                 c.checkpoint_dir.string());
  }
  train::Trainer trainer(c, std::move(source), std::move(*corpus));
  TextObserver observer(stderr_is_tty() && !quiet, quiet);
  const std::unique_ptr<train::Profiler> profiler = make_profiler(a, &observer);
  train::clear_stop_request();
  const auto handle = [](void (*handler)(int)) {
    std::signal(SIGINT, handler);
    std::signal(SIGTERM, handler);
    std::signal(SIGHUP, handler);
  };
  handle(on_stop_signal);
  train::TrainResult result;
  try {
    result = trainer.run(profiler ? static_cast<train::TrainObserver*>(profiler.get()) : &observer);
  } catch (...) {
    handle(SIG_DFL);
    throw;
  }
  handle(SIG_DFL);
  finish_profile(profiler.get(), a, false);
  if (result.stopped) {
    fmt::print(stderr,
               "\ninterrupted after step {}: checkpoint written to {}\nresume with: bend train --model gpt "
               "--resume {}\n",
               result.steps, result.stop_checkpoint.string(), result.stop_checkpoint.string());
    return 130;
  }
  const train::EpochMetrics& last = result.history.back();
  fmt::print("step {}: val loss {:.4f}, total time {:.1f}s{}\n", result.steps, last.test_loss,
             result.total_seconds, c.save.empty() ? "" : fmt::format("; model saved to {}", c.save.string()));
  return 0;
}

}  // namespace bend::cli
