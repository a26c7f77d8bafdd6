#pragma once
// The training loop as a library call: `bend train` is a thin CLI over it, and a C++ user can run it
// or write the same loop by hand (see apps/mnist_mlp.cpp).
//
// Nothing is lost: a checkpoint (model, optimizer, scheduler, RNG streams, position) is written
// atomically after every epoch and when a stop is requested (request_stop(), e.g. from SIGINT);
// resuming from it continues bit-identically. A NaN or infinite loss stops training with
// TrainingDiverged before anything is saved over the last good files.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/error.hpp"
#include "bend/nn/mlp.hpp"
#include "bend/optim/optimizer.hpp"
#include "bend/rng.hpp"
#include "bend/train/metrics.hpp"

namespace bend::train {

struct TrainConfig {
  std::string dataset = "mnist";   // "mnist" | "fashion"
  std::filesystem::path data_dir;  // empty: default_data_dir(dataset)
  std::string arch = "784-256-128-10";
  std::string act = "relu";  // one name, or one per hidden layer
  float dropout = 0.0f;
  std::string init = "torch";      // torch (nn.Linear default, as PyTorch) | auto | he | xavier | lecun
  std::string optimizer = "adam";  // sgd | adam | adamw
  std::optional<double> lr;        // default: 1e-3 for Adam/AdamW, 0.01 for SGD
  double momentum = 0.0;
  bool nesterov = false;
  std::optional<double> weight_decay;  // default: 0 (AdamW: 1e-2)
  std::string schedule = "none";       // none | step | cosine | plateau
  std::int64_t warmup_steps = 0;
  std::int64_t batch = 64;
  std::int64_t epochs = 10;    // total, counting epochs done before a resume
  std::int64_t max_steps = 0;  // stop after this many optimizer steps (0: no limit)
  std::uint64_t seed = 0;
  int threads = 0;  // threads for bend's kernels; 0: bend::default_num_threads() (bend/parallel.hpp)
  bool flush_denormal = false;  // bend::set_flush_denormal (bend/denormal.hpp) for the run
  bool shuffle = true;
  bool standardize = false;  // standardise inputs with the training set's mean/std
  float label_smoothing = 0.0f;
  std::int64_t train_limit = 0;          // use only the first N training samples (0: all)
  std::int64_t test_limit = 0;           // use only the first N test samples (0: all)
  std::filesystem::path save;            // final model (.safetensors)
  std::filesystem::path checkpoint_dir;  // a checkpoint after every epoch
  std::filesystem::path resume;          // continue from this checkpoint
  std::filesystem::path init_from;       // start from these weights

  // Validates the values (ValueError naming the flag) without touching files.
  void validate() const;
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double seconds = 0;  // training time of the epoch (without evaluation)
  double lr = 0;
  std::int64_t steps = 0;  // optimizer steps so far
};

struct StepProgress {
  std::int64_t epoch, epochs, batch, batches, step;
  double loss;  // running mean of this epoch's loss
  double samples_per_second;
  double eta_seconds;  // for this epoch
};

struct TrainObserver {
  virtual ~TrainObserver() = default;
  virtual void on_start(const class Trainer&) {}
  virtual void on_step(const StepProgress&) {}
  virtual void on_epoch(const EpochMetrics&) {}
  virtual void on_checkpoint(const std::filesystem::path&) {}
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
  // Loads the data (or takes them) and builds the model and optimizer; resumes when config.resume.
  explicit Trainer(TrainConfig config);
  Trainer(TrainConfig config, TensorDataset train, TensorDataset test);
  ~Trainer();

  TrainResult run(TrainObserver* observer = nullptr);

  const TrainConfig& config() const { return config_; }
  const nn::MlpSpec& spec() const { return spec_; }
  nn::Sequential& model() { return model_; }
  Optimizer& optimizer() { return *optimizer_; }
  const Optimizer& optimizer() const { return *optimizer_; }
  const TensorDataset& train_data() const { return train_; }
  const TensorDataset& test_data() const { return test_; }
  std::int64_t epochs_done() const { return epoch_; }
  std::int64_t steps_done() const { return step_; }

  // Checkpoint files (also usable directly).
  void save_checkpoint(const std::filesystem::path& path) const;
  void load_checkpoint(const std::filesystem::path& path);
  void save_model(const std::filesystem::path& path) const;

 private:
  void setup();
  void make_schedule();
  double current_lr() const;

  TrainConfig config_;
  nn::MlpSpec spec_;
  TensorDataset train_, test_;
  nn::Sequential model_;
  std::unique_ptr<Optimizer> optimizer_;
  struct Schedule;
  std::unique_ptr<Schedule> schedule_;
  Rng init_rng_, loader_rng_;
  Rng::State epoch_start_rng_{};  // the loader RNG at the start of the current epoch
  std::int64_t epoch_ = 0;        // completed epochs
  std::int64_t step_ = 0;         // optimizer steps
  // Position inside an interrupted epoch (resume continues from here).
  std::int64_t batch_in_epoch_ = 0;
  double partial_loss_sum_ = 0;
  std::int64_t partial_correct_ = 0, partial_seen_ = 0;
  double partial_seconds_ = 0;
  std::vector<EpochMetrics> history_;
  std::optional<Normalization> normalization_;  // with --standardize; saved with the model
};

}  // namespace bend::train
