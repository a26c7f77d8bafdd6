#pragma once
// The training loop, once, for any nn::Module: `bend train`, `bend compare`, `bend lab`, the benchmark
// and C++ users all run this loop. A model comes from a ModelSource (an instance, a factory, or an MLP
// spec), the data from the dataset registry (or given), the optimizer from the optimizer registry.
//
// Nothing is lost: a checkpoint (model parameters and buffers, optimizer, scheduler, RNG streams,
// position) is written atomically after every epoch, when --steps ends a run inside an epoch, and when
// a stop is requested (request_stop(), e.g. from SIGINT); resuming from it continues bit-identically.
// A NaN or infinite loss stops training with TrainingDiverged before anything is saved over the last
// good files.
//
//   auto model = std::make_shared<Net>();
//   train::TrainConfig config;  // MNIST and the default recipe: Adam 2e-3, cosine decay, batch 64, 10 epochs
//   config.checkpoint_dir = "checkpoints";
//   train::Trainer trainer(config, train::ModelSource::of(model, "Net"));
//   train::TrainResult result = trainer.run();
//
// Data-parallel (config.data_parallel, `mpirun -np R bend train`): with a bend::dist::Environment alive
// and R > 1 processes, every rank builds the same run, rank 0's parameters and buffers are broadcast,
// and each rank computes rows [b·r/R, b·(r+1)/R) of every global batch b (the same order as one
// process). Gradients are averaged in buckets that start while backward runs (bend/dist/
// gradient_buckets.hpp), so every rank takes the same optimizer step: R = 2 follows R = 1's loss curve
// within float rounding. Per step one small allreduce agrees on the loss, the accuracy, a stop request
// on any rank and a NaN on any rank (every rank then stops). Evaluation is split over the ranks and its
// sums reduced; only rank 0 writes checkpoints and the model. As in PyTorch's DDP: buffers (BatchNorm's
// running statistics) are broadcast from rank 0 before each step, but BatchNorm normalises each rank's
// rows with that rank's batch statistics (no SyncBatchNorm), and every rank's Dropout draws from the
// same seeded stream (so R = 1 and R > 1 differ for models with BatchNorm or Dropout).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/data/text.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/error.hpp"
#include "bend/nn/module.hpp"
#include "bend/optim/optimizer.hpp"
#include "bend/optim/registry.hpp"
#include "bend/rng.hpp"
#include "bend/train/checkpoint.hpp"
#include "bend/train/metrics.hpp"
#include "bend/train/model_source.hpp"
#include "bend/train/recipe.hpp"

namespace bend::dist {
class GradientBuckets;
}

namespace bend::train {

// nanoGPT's train.py loop, the Trainer's recipe for language models (a text dataset): each step takes
// `batch` random windows of block_size tokens (get_batch), AdamW decays only the tensors with 2 or more
// dimensions (configure_optimizers' two groups), gradients are clipped to a global norm of grad_clip,
// and the learning rate rises linearly over warmup_steps (lr·(it+1)/(warmup+1)) and then follows a
// cosine down to min_lr at max_steps (get_lr). Every eval_interval steps, and at the end, the mean loss
// of eval_iters batches of each split is estimated in eval mode; each estimate is one entry of the
// history (train_loss, test_loss = val loss, steps) and is followed by a checkpoint. Runs are counted in
// steps (max_steps, nanoGPT's max_iters); the batches' offsets and the estimates' draw from the one data
// stream, as nanoGPT's use torch's one generator, so a resume continues bit-identically.
struct TextLoop {
  std::int64_t block_size = 256;
  std::int64_t eval_interval = 250;
  std::int64_t eval_iters = 200;
  double min_lr = -1;      // < 0: lr / 10 (nanoGPT's ratio)
  double grad_clip = 1.0;  // 0: no clipping
  // The vocabulary of a corpus the Trainer loads itself (text_file or a text dataset): characters by
  // default, or words (bend/data/text.hpp).
  VocabOptions vocab;
};

// Defaults: the "default" recipe of recipe_registry() (bend/train/recipe.hpp), as `bend train`'s.
struct TrainConfig {
  std::string dataset = "mnist";   // a name in dataset_registry(); may be empty when the data are given
  std::filesystem::path data_dir;  // empty: the entry's default location
  std::string optimizer = default_recipe().optimizer;  // a name in optimizer_registry()
  // Options given explicitly (PyTorch's keywords: lr, momentum, weight_decay, ...); the others take the
  // registry entry's defaults, except lr: without one, a new run takes default_recipe().lr_for(optimizer,
  // schedule) when that is set (2e-3 for Adam with the cosine schedule). On resume the checkpoint's
  // values continue, and an option given here that differs from them is an error.
  optim::OptimizerOptions optimizer_options;
  std::string schedule = default_recipe().schedule;  // a name in schedule_registry(); "none": constant
  std::int64_t warmup_steps = 0;                     // linear warm-up over this many optimizer steps
  // When warmup_steps is 0: a warm-up over this many epochs' worth of steps, rounded (the vit preset's
  // default is 1: see bend/nn/model_presets.hpp). The Trainer turns it into warmup_steps.
  double warmup_epochs = 0;
  std::int64_t batch = default_recipe().batch;
  std::int64_t epochs = default_recipe().epochs;  // total, counting epochs done before a resume
  std::int64_t max_steps = 0;                     // stop after this many optimizer steps (0: no limit)
  std::uint64_t seed = 0;                         // initialisation (ModelSource::build) and data order
  int threads = 0;  // threads for bend's kernels; 0: bend::default_num_threads() (bend/parallel.hpp)
  bool flush_denormal = false;  // bend::set_flush_denormal (bend/denormal.hpp) for the run
  bool shuffle = true;
  bool standardize = false;  // standardise inputs with the training set's mean/std
  float label_smoothing = 0.0f;
  // Update each parameter during backward, as soon as its gradient is final (Optimizer::
  // backward_and_step): bit-identical results, one pass over the parameters less. Off: backward, then
  // step, as PyTorch's plain loop (the benchmark compares the two). Data-parallel training always
  // steps after backward, once the gradients are averaged.
  bool update_in_backward = true;
  std::int64_t train_limit = 0;          // use only the first N training samples (0: all)
  std::int64_t test_limit = 0;           // use only the first N test samples (0: all)
  std::filesystem::path save;            // final model (.safetensors)
  std::filesystem::path checkpoint_dir;  // a checkpoint after every epoch (empty: none)
  // Also a checkpoint every this many optimizer steps inside an epoch (language models: between the
  // estimates); 0: only after every epoch (and the language models' estimates). A run killed at any
  // instant loses at most this many steps; resuming from a mid-epoch checkpoint is bit-identical.
  std::int64_t checkpoint_every = 0;
  std::filesystem::path resume;     // continue from this checkpoint
  std::filesystem::path init_from;  // start from these weights
  // Train data-parallel over the MPI world when it has more than one process (see above); a world of
  // one trains as without. Off by default: `bend compare` runs separate runs on separate ranks.
  bool data_parallel = false;
  std::size_t bucket_bytes = std::size_t{25} << 20;  // gradient bucket size (PyTorch's bucket_cap_mb = 25)
  // Language models: `dataset` names a text dataset (fortunes), or text_file is any UTF-8 file (the
  // dataset is then called "text"); the model takes [B, T] ids and gives [B, T, vocab] logits, and the
  // run follows `text` (nanoGPT's loop, above) with --schedule and --epochs unused.
  std::filesystem::path text_file;
  TextLoop text;

  // Validates the values (ValueError naming the flag) without touching files.
  void validate() const;
};

struct StepProgress {
  std::int64_t epoch, epochs, batch, batches, step;
  double loss;  // running mean of this epoch's loss
  double samples_per_second;
  double eta_seconds;  // for this epoch
};

// The parts of a step, in order, for profilers (the benchmark times each through on_phase), and the
// evaluation after an epoch (language models: each loss estimate), which ends with on_epoch.
enum class StepPhase { Data, ZeroGrad, Forward, Backward, Update, Bookkeeping, Evaluate };

class Trainer;

struct TrainObserver {
  virtual ~TrainObserver() = default;
  // Before the first step; the trainer gives access to the model (observers such as diagnostics run it
  // between steps), the data and the optimizer.
  virtual void on_start(Trainer&) {}
  virtual void on_step(const StepProgress&) {}
  virtual void on_epoch(const EpochMetrics&) {}
  virtual void on_checkpoint(const std::filesystem::path&) {}
  // Marks the start of each part of every step (one virtual call each: cheap next to a step).
  virtual void on_phase(StepPhase) {}
};

struct TrainResult {
  std::vector<EpochMetrics> history;  // every epoch, including those before a resume
  double best_test_accuracy = 0, last_test_accuracy = 0;
  double total_seconds = 0;
  std::int64_t steps = 0;
  bool stopped = false;                   // a stop was requested
  std::filesystem::path stop_checkpoint;  // where the stop's checkpoint went
};

// A NaN or infinite loss.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// Asks a running Trainer to finish its current step, checkpoint and return. Async-signal-safe.
void request_stop();
bool stop_requested();
void clear_stop_request();

class Trainer {
 public:
  // Loads the data from the dataset registry (or takes them), builds the model and the optimizer, and
  // resumes when config.resume is set. Throws ValueError when the model does not fit the data (input
  // width, number of classes) or a checkpoint does not fit the run.
  Trainer(TrainConfig config, ModelSource model);
  Trainer(TrainConfig config, ModelSource model, TensorDataset train, TensorDataset test);
  // A language model on `corpus` (bend/data/text.hpp): the run follows config.text (nanoGPT's loop). The
  // ModelSource's metadata should hold the vocabulary ("bend.vocab", as gpt_source() writes it); a
  // checkpoint with another vocabulary is refused on resume.
  Trainer(TrainConfig config, ModelSource model, TextCorpus corpus);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  TrainResult run(TrainObserver* observer = nullptr);

  const TrainConfig& config() const { return config_; }
  const ModelSource& source() const { return source_; }
  nn::Module& model() { return *model_; }
  const nn::Module& model() const { return *model_; }
  std::shared_ptr<nn::Module> model_ptr() const { return model_; }
  optim::Optimizer& optimizer() { return *optimizer_; }
  const optim::Optimizer& optimizer() const { return *optimizer_; }
  const TensorDataset& train_data() const { return train_; }
  const TensorDataset& test_data() const { return test_; }
  // The corpus of a language model's run; nullptr for image datasets.
  const TextCorpus* text() const { return text_.get(); }
  // nanoGPT's get_lr at optimizer step `step` (language models).
  double text_lr(std::int64_t step) const;
  std::int64_t epochs_done() const { return epoch_; }
  std::int64_t steps_done() const { return step_; }
  const std::vector<EpochMetrics>& history() const { return history_; }  // completed epochs
  // Processes training this model together: 1 unless data-parallel under MPI.
  int ranks() const { return world_ ? world_->size() : 1; }
  bool is_root() const { return !world_ || world_->is_root(); }
  // One-line description of the recipe: optimizer and its options, schedule, batch, epochs, threads.
  std::string recipe() const;

  // Checkpoint files (also usable directly).
  void save_checkpoint(const std::filesystem::path& path) const;
  // Same, at a position inside the current epoch (`partial`: the epoch so far).
  void save_checkpoint(const std::filesystem::path& path, const EpochProgress& partial) const;
  void load_checkpoint(const std::filesystem::path& path);
  // The model's state_dict (PyTorch's names) with the ModelSource's metadata and the run's results.
  void save_model(const std::filesystem::path& path) const;

 private:
  void setup();
  void check_model_fits_data();
  void setup_data_parallel();
  // One optimizer step on `batch`, for one process and for data-parallel ranks alike; adds the batch to
  // `progress`. Returns whether to stop after it (a stop request; data-parallel: on any rank).
  bool train_step(const Batch& batch, std::span<std::int32_t> predicted, EpochProgress& progress,
                  TrainObserver& watch, std::int64_t epoch_number);
  EvalResult evaluate_test();
  // Language models: setup's checks, the loop, and the loss estimate of one split.
  void setup_text();
  void apply_init_from();
  void make_schedule();
  void run_text(TrainObserver& watch, TrainResult& result);
  double estimate_text_loss(const std::vector<std::int32_t>& split);
  Tensor text_loss(const Tensor& x, const std::vector<std::int32_t>& targets);
  // The loop's settings as checkpoints store them (a resume must keep them to continue bit-identically).
  std::map<std::string, double> text_settings() const;
  EpochMetrics finish_epoch_metrics(std::int64_t epoch, double seconds, double loss_sum, std::int64_t correct,
                                    std::int64_t seen);

  TrainConfig config_;
  ModelSource source_;
  TensorDataset train_, test_;
  std::shared_ptr<const TextCorpus> text_;  // language models only
  double base_lr_ = 0;                      // language models: the lr get_lr warms up to
  std::shared_ptr<nn::Module> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  struct Schedule;
  std::unique_ptr<Schedule> schedule_;
  Rng init_rng_, loader_rng_;
  Rng::State epoch_start_rng_{};  // the loader RNG at the start of the current epoch
  std::int64_t epoch_ = 0;        // completed epochs
  std::int64_t step_ = 0;         // optimizer steps
  EpochProgress progress_;        // inside an interrupted epoch (a resume continues from here)
  std::vector<EpochMetrics> history_;
  std::optional<Normalization> normalization_;  // with --standardize; saved with the model
  // Data-parallel only (ranks() > 1): the gradient buckets, the model's buffers (broadcast each step),
  // and this rank's share of the test set.
  std::optional<dist::World> world_;  // set when data-parallel
  std::unique_ptr<dist::GradientBuckets> buckets_;
  std::vector<Tensor> buffers_;
  TensorDataset test_shard_;
};

}  // namespace bend::train
