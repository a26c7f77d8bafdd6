#pragma once
// Helpers of the GPT tests (tests/test_gpt*.cpp, test_compare_gpt.cpp, onnx/test_onnx_gpt.cpp): a small
// text, a tiny GPT and its nanoGPT-style run, a run stopped (as Ctrl-C) and resumed, PyTorch's loss of a
// saved GPT (scripts/torch_gpt.py), and the CLI's one-line errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bend/data/text.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/train/trainer.hpp"
#include "build_paths.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

namespace bend::testing {

// A small text with some structure to learn (about 3 KB).
inline std::string small_text() {
  std::string text;
  const char* lines[] = {"the quick brown fox jumps over the lazy dog.\n", "a stitch in time saves nine.\n",
                         "to be or not to be, that is the question.\n", "all that glitters is not gold.\n"};
  for (int i = 0; i < 24; ++i) text += lines[i % 4];
  return text;
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A GPT small enough for a fast test: 2 heads, n_embd 16, bias on. gpt_source sets vocab_size from the
// corpus; a test that builds the GPT itself gives it.
inline nn::GPTConfig tiny_gpt_config(std::int64_t n_layer, std::int64_t block_size,
                                     std::int64_t vocab_size = nn::GPTConfig{}.vocab_size) {
  nn::GPTConfig c;
  c.n_layer = n_layer;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = block_size;
  c.vocab_size = vocab_size;
  c.bias = true;
  return c;
}

// What the tiny text runs of the tests differ in.
struct TinyTextRun {
  std::int64_t block_size;
  std::int64_t warmup_steps;
  std::uint64_t seed;
  std::int64_t eval_iters;
};

// nanoGPT's loop on a text, tiny: AdamW (lr 1e-2 -> 1e-3, weight decay 0.1, beta2 0.99), batch 8, an
// estimate every 10 steps, one thread, checkpoints in `dir`.
inline train::TrainConfig tiny_text_run(const std::filesystem::path& dir, std::int64_t steps,
                                        const TinyTextRun& run) {
  train::TrainConfig c;
  c.dataset = "text";
  c.optimizer = "adamw";
  c.optimizer_options = {{"lr", 1e-2}, {"weight_decay", 0.1}, {"beta2", 0.99}};
  c.batch = 8;
  c.max_steps = steps;
  c.warmup_steps = run.warmup_steps;
  c.seed = run.seed;
  c.threads = 1;
  c.checkpoint_dir = dir;
  c.text.block_size = run.block_size;
  c.text.eval_interval = 10;
  c.text.eval_iters = run.eval_iters;
  c.text.min_lr = 1e-3;
  return c;
}

// Stops the run (as Ctrl-C does) after step `at`.
struct StopAtStep : train::TrainObserver {
  std::int64_t at;
  explicit StopAtStep(std::int64_t step) : at(step) {}
  void on_step(const train::StepProgress& p) override {
    if (p.step == at) train::request_stop();
  }
};

// `config`'s run stopped after step `at`, the stop request cleared before and after.
inline train::TrainResult run_stopped_at(const train::TrainConfig& config, const train::ModelSource& source,
                                         const TextCorpus& corpus, std::int64_t at) {
  train::clear_stop_request();
  StopAtStep stop(at);
  train::TrainResult stopped = train::Trainer(config, source, corpus).run(&stop);
  train::clear_stop_request();
  return stopped;
}

// `config` resuming from `checkpoint`, its optimizer's options from there.
inline train::TrainConfig resuming(train::TrainConfig config, const std::filesystem::path& checkpoint) {
  config.resume = checkpoint;
  config.optimizer_options.clear();
  return config;
}

// The same train and val losses at every estimate.
inline void check_same_losses(const train::TrainResult& a, const train::TrainResult& b) {
  REQUIRE(a.history.size() == b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    CHECK(a.history[i].train_loss == b.history[i].train_loss);
    CHECK(a.history[i].test_loss == b.history[i].test_loss);
  }
}

inline bool require_torch() {
  return require_available(std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0,
                           "PyTorch for /usr/bin/python3",
                           "apt-get install python3-torch (scripts/install-deps.sh does)");
}

struct TorchGptLoss {
  double loss;
  std::string out;  // scripts/torch_gpt.py's output
};

// PyTorch's loss of the GPT saved in `model` on the batch x [B, T], y (B·T ids): scripts/torch_gpt.py
// loads both (the batch from `dir`/batch.safetensors).
inline TorchGptLoss torch_gpt_loss(const std::filesystem::path& model, const Tensor& x,
                                   const std::vector<std::int32_t>& y, const std::filesystem::path& dir) {
  const std::filesystem::path batch = dir / "batch.safetensors";
  nn::save_tensors(batch, {{"x", x}, {"y", reshape(Tensor::from_indices(y), x.shape())}}, {});
  const CommandResult torch = run_command("/usr/bin/python3 " + std::string(BEND_SOURCE_DIR) +
                                          "/scripts/torch_gpt.py " + model.string() + " " + batch.string());
  INFO(torch.out);
  REQUIRE(torch.code == 0);
  const auto at = torch.out.find("\"loss\": ");
  REQUIRE(at != std::string::npos);
  return {std::stod(torch.out.substr(at + 8)), torch.out};
}

// The flags of a tiny GPT's `bend train --model gpt` (one layer as tiny_gpt_config(1, block_size), batch 4,
// 2 warm-up steps, an estimate of 2 batches every 5 steps, one thread), checkpoints in `checkpoint_dir`;
// with a leading space.
inline std::string tiny_gpt_cli_flags(std::int64_t block_size, const std::filesystem::path& checkpoint_dir) {
  return " --n-layer 1 --n-head 2 --n-embd 16 --block-size " + std::to_string(block_size) +
         " --batch 4 --eval-iters 2 --eval-interval 5 --warmup-iters 2 --threads 1 --checkpoint-dir " +
         checkpoint_dir.string();
}

// The CLI's errors are one line.
inline bool one_line(const CommandResult& r) { return std::count(r.out.begin(), r.out.end(), '\n') == 1; }

}  // namespace bend::testing
