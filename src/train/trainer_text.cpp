// The Trainer's recipe for language models: nanoGPT's train.py loop (see TextLoop in
// bend/train/trainer.hpp). The checkpoints, Ctrl-C, --init-from and resume are the Trainer's own.
#include <chrono>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/denormal.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/nn/clip_grad.hpp"
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "bend/parallel.hpp"
#include "bend/train/schedule.hpp"
#include "bend/train/trainer.hpp"

namespace bend::train {

// The model's loss on ids x [B, T] against next-token targets (B·T of them): the ModelSource's own
// (GPT::loss), else the cross-entropy of the [B, T, V] output, as nanoGPT's
// F.cross_entropy(logits.view(-1, V), targets.view(-1)).
Tensor Trainer::text_loss(const Tensor& x, const std::vector<std::int32_t>& targets) {
  if (source_.text_loss) return source_.text_loss(*model_, x, targets);
  const Tensor logits = (*model_)(x);
  const std::int64_t vocab = logits.size(logits.ndim() - 1);
  return cross_entropy(reshape(logits, {-1, vocab}), targets);
}

double Trainer::text_lr(std::int64_t it) const {
  const double lr = base_lr_, min_lr = config_.text.min_lr < 0 ? base_lr_ / 10 : config_.text.min_lr;
  const std::int64_t warmup = config_.warmup_steps, decay = config_.max_steps;
  if (it < warmup) return lr * static_cast<double>(it + 1) / static_cast<double>(warmup + 1);
  if (it > decay || decay == warmup) return min_lr;
  const double ratio = static_cast<double>(it - warmup) / static_cast<double>(decay - warmup);
  return min_lr + 0.5 * (1.0 + std::cos(std::numbers::pi * ratio)) * (lr - min_lr);
}

void Trainer::setup_text() {
  const TextLoop& t = config_.text;
  if (config_.max_steps <= 0)
    throw ValueError("a language model's run is counted in steps: give --steps (nanoGPT's max_iters)");
  if (t.block_size < 1) throw ValueError(fmt::format("--block-size must be positive, got {}", t.block_size));
  if (t.eval_interval < 1)
    throw ValueError(fmt::format("--eval-interval must be positive, got {}", t.eval_interval));
  if (t.eval_iters < 1) throw ValueError(fmt::format("--eval-iters must be positive, got {}", t.eval_iters));
  if (!(t.grad_clip >= 0)) throw ValueError(fmt::format("--grad-clip must be >= 0, got {}", t.grad_clip));
  if (!std::isfinite(t.min_lr)) throw ValueError("--min-lr must be a number");
  if (config_.warmup_steps > config_.max_steps)
    throw ValueError(fmt::format("--warmup-iters {} is longer than the run's --steps {}",
                                 config_.warmup_steps, config_.max_steps));
  if (config_.data_parallel && dist::world().size() > 1)
    throw ValueError("language models train in one process: run bend train --model gpt without mpirun");
  check_block_fits(*text_, t.block_size);
  if (!source_.build) throw ValueError("Trainer: the ModelSource has no build function");
  // Language models keep the lr they are given (nanoGPT's loop sets it every step); --schedule and
  // --epochs do not apply.
  config_.schedule = "none";
  config_.epochs = 1;
  set_num_threads(config_.threads);
  set_flush_denormal(config_.flush_denormal);
  init_rng_.seed_with(config_.seed);
  loader_rng_.seed_with(config_.seed ^ 0x5DEECE66DULL);
  epoch_start_rng_ = loader_rng_.state();  // (unused by the loop; checkpoints store a valid state)
  if (auto it = source_.metadata.find("bend.vocab");
      it != source_.metadata.end() && it->second != text_->vocab_utf8())
    throw ValueError(fmt::format("{}: the model's vocabulary is not the text's ({} {})", source_.description,
                                 text_->vocab_size(), text_->unit()));
  model_ = source_.build(init_rng_);
  if (!model_) throw ValueError(fmt::format("Trainer: building {} gave no model", source_.description));
  {  // one window through the model: it must give one score per vocabulary entry and position
    NoGradGuard no_grad;
    model_->eval();
    Tensor out;
    try {
      out = model_->forward(Tensor::zeros(Shape{1, t.block_size}));
    } catch (const Error& e) {
      model_->train();
      throw ValueError(fmt::format("{} does not take windows of --block-size {} token ids: {}",
                                   source_.description, t.block_size, e.what()));
    }
    model_->train();
    if (out.shape() != Shape{1, t.block_size, text_->vocab_size()})
      throw ValueError(
          fmt::format("{} gives {} for a window of {} tokens; a language model on {} must give "
                      "[1, {}, {}] (one score per token of the vocabulary)",
                      source_.description, out.shape().str(), t.block_size, config_.dataset, t.block_size,
                      text_->vocab_size()));
  }
  apply_init_from();
  optimizer_ = optim::make_optimizer(config_.optimizer, model_->parameters(), config_.optimizer_options);
  base_lr_ = optimizer_->lr();
  // nanoGPT's configure_optimizers: weight decay on the tensors with 2 or more dimensions only.
  if (auto* adam = dynamic_cast<optim::Adam*>(optimizer_.get())) {
    std::vector<bool> decays;
    for (const Tensor& p : optimizer_->params()) decays.push_back(p.ndim() >= 2);
    adam->set_weight_decay_mask(std::move(decays));
  }
  make_schedule();  // "none": the loop sets the lr itself
  if (!config_.resume.empty()) load_checkpoint(config_.resume);
}

std::map<std::string, double> Trainer::text_settings() const {
  return {{"block_size", static_cast<double>(config_.text.block_size)},
          {"eval_interval", static_cast<double>(config_.text.eval_interval)},
          {"eval_iters", static_cast<double>(config_.text.eval_iters)},
          {"min_lr", config_.text.min_lr < 0 ? base_lr_ / 10 : config_.text.min_lr},
          {"grad_clip", config_.text.grad_clip},
          {"warmup_steps", static_cast<double>(config_.warmup_steps)},
          {"max_steps", static_cast<double>(config_.max_steps)},
          {"lr", base_lr_}};
}

double Trainer::estimate_text_loss(const std::vector<std::int32_t>& split) {
  NoGradGuard no_grad;
  model_->eval();
  Tensor x;
  std::vector<std::int32_t> y;
  double sum = 0;
  for (std::int64_t k = 0; k < config_.text.eval_iters; ++k) {
    text_batch(split, config_.batch, config_.text.block_size, loader_rng_, x, y);
    sum += text_loss(x, y).item();
  }
  model_->train();
  return sum / static_cast<double>(config_.text.eval_iters);
}

void Trainer::run_text(TrainObserver& watch, TrainResult& result) {
  using clock = std::chrono::steady_clock;
  const TextLoop& t = config_.text;
  const auto checkpoint_path = [&] {
    const auto dir = config_.checkpoint_dir.empty() ? std::filesystem::path(".") : config_.checkpoint_dir;
    return dir / "checkpoint.safetensors";
  };
  double seconds = 0;  // training time since the last estimate
  const auto estimated_here = [&] { return !history_.empty() && history_.back().steps == step_; };
  const auto estimate = [&] {
    watch.on_phase(StepPhase::Evaluate);
    EpochMetrics m;
    m.epoch = static_cast<std::int64_t>(history_.size()) + 1;
    m.train_loss = estimate_text_loss(text_->train);
    m.test_loss = estimate_text_loss(text_->val);
    m.seconds = seconds;
    m.lr = text_lr(step_);
    m.steps = step_;
    seconds = 0;
    history_.push_back(m);
    epoch_ = static_cast<std::int64_t>(history_.size());
    watch.on_epoch(m);
    if (!config_.checkpoint_dir.empty()) {
      save_checkpoint(checkpoint_path());
      watch.on_checkpoint(checkpoint_path());
    }
  };
  model_->train();
  Tensor x;
  std::vector<std::int32_t> y;
  const std::int64_t first_step = step_;
  const auto loop_start = clock::now();
  while (step_ < config_.max_steps) {
    if (step_ % t.eval_interval == 0 && !estimated_here()) estimate();
    const auto step_start = clock::now();
    optimizer_->set_lr(text_lr(step_));
    watch.on_phase(StepPhase::Data);
    text_batch(text_->train, config_.batch, t.block_size, loader_rng_, x, y);
    watch.on_phase(StepPhase::ZeroGrad);
    optimizer_->zero_grad();
    watch.on_phase(StepPhase::Forward);
    Tensor loss = text_loss(x, y);
    const float loss_value = loss.item();
    if (!std::isfinite(loss_value)) {
      tape().clear();
      throw TrainingDiverged(
          fmt::format("the loss became {} at step {}; training stopped before saving anything over the last "
                      "good checkpoint or model. Try a lower learning rate",
                      loss_value, step_ + 1));
    }
    watch.on_phase(StepPhase::Backward);
    loss.backward();
    watch.on_phase(StepPhase::Update);
    if (t.grad_clip > 0) nn::clip_grad_norm_(optimizer_->params(), t.grad_clip);
    optimizer_->step();
    watch.on_phase(StepPhase::Bookkeeping);
    ++step_;
    seconds += std::chrono::duration<double>(clock::now() - step_start).count();
    const double elapsed = std::chrono::duration<double>(clock::now() - loop_start).count();
    const double per_step = elapsed / static_cast<double>(step_ - first_step);
    watch.on_step({1, 1, step_, config_.max_steps, step_, loss_value,
                   per_step > 0 ? static_cast<double>(config_.batch) / per_step : 0.0,
                   per_step * static_cast<double>(config_.max_steps - step_)});
    // --checkpoint-every: between the estimates (which checkpoint themselves).
    if (t.eval_interval > 0 && config_.checkpoint_every > 0 && !config_.checkpoint_dir.empty() &&
        step_ % config_.checkpoint_every == 0 && step_ % t.eval_interval != 0 && step_ < config_.max_steps &&
        !stop_requested()) {
      save_checkpoint(checkpoint_path());
      watch.on_checkpoint(checkpoint_path());
    }
    if (stop_requested()) {
      result.stopped = true;
      result.stop_checkpoint = checkpoint_path();
      save_checkpoint(result.stop_checkpoint);
      watch.on_checkpoint(result.stop_checkpoint);
      return;
    }
  }
  if (!estimated_here()) estimate();
}

}  // namespace bend::train
