#pragma once
// The checkpoint format: one .safetensors file that holds everything a Trainer needs to continue a run
// bit-identically. Tensors: "model.<state_dict name>" (parameters and buffers, PyTorch's names) and
// "optim.state.<index>.<key>" (PyTorch's optimizer.state_dict() names). Metadata (strings): the model's
// description (bend.arch, ... as the ModelSource gives it), the optimizer's hyperparameters
// ("optim.lr", ...; hex floats, exact), the schedule's state ("schedule.*"), the position in the run
// (epochs, steps, batch within the epoch and the partial epoch's sums), every random stream, and the
// history of epoch metrics.
//
// read_checkpoint() validates every field before anything uses it: a number that is not a finite
// integer in range, an RNG state that does not parse, a history entry that is malformed all throw
// IoError naming the file and the key.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"

namespace bend::train {

using Metadata = std::map<std::string, std::string>;

// One epoch's results (also what `bend train --metrics` writes).
struct EpochMetrics {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double seconds = 0;  // training time of the epoch (without evaluation)
  double lr = 0;
  std::int64_t steps = 0;  // optimizer steps so far
};

// Where a run is inside an epoch and the epoch's sums so far: the Trainer's resume state (a resume
// continues from here bit-identically). All zero at an epoch's start.
struct EpochProgress {
  std::int64_t batch = 0;              // batches of the epoch done (checkpoint key bend.batch_in_epoch)
  double loss_sum = 0;                 // sum of the per-sample losses seen (bend.partial_loss_sum)
  std::int64_t correct = 0, seen = 0;  // samples predicted right, samples seen (bend.partial_correct/_seen)
  double seconds = 0;                  // training time of the epoch so far (bend.partial_seconds)
};

struct CheckpointState {
  nn::NamedTensors model;      // the model's state_dict
  nn::NamedTensors optimizer;  // Optimizer::state_tensors()
  Metadata model_metadata;     // the ModelSource's description keys (bend.arch, bend.model, ...)
  std::string dataset;
  std::string optimizer_name;                               // Optimizer::name(): "Adam", "SGD", ...
  std::map<std::string, double> optimizer_hyperparameters;  // now (a schedule changes lr)
  std::map<std::string, double> optimizer_config;           // as the run was configured
  std::string schedule = "none";
  std::int64_t planned_epochs = 0;           // the epochs the schedule was planned over
  std::optional<std::int64_t> warmup_steps;  // the linear warm-up's steps (absent in older checkpoints)
  std::map<std::string, double> schedule_state;
  std::int64_t batch = 0;
  std::uint64_t seed = 0;
  std::int64_t epochs_done = 0, steps_done = 0;
  EpochProgress partial;  // position inside an interrupted epoch
  Rng::State loader_rng{}, epoch_start_rng{};
  std::vector<Rng::State> module_rngs;  // one per stochastic module (Dropout), in module-tree order
  std::vector<EpochMetrics> history;
  std::optional<Normalization> normalization;  // --standardize
};

// Writes atomically (a failed write leaves an earlier checkpoint intact).
void write_checkpoint(const std::filesystem::path& path, const CheckpointState& state);
// IoError when the file is not a bend checkpoint or any field is malformed or out of range.
CheckpointState read_checkpoint(const std::filesystem::path& path);

// The keys of a file's metadata that describe its model: those a checkpoint lists under
// "bend.model_keys", or, in a model file, "bend.arch", "bend.act", "bend.dropout" and "bend.model".
// Compared with the ModelSource of the run that resumes or initialises from the file.
Metadata model_description(const Metadata& metadata);

// Normalisation as saved with a model ("bend.input_mean", "bend.input_std"), validated: IoError naming
// the file when a value is not a number, the std is not positive and finite, or only one key is there.
std::optional<Normalization> read_normalization(const Metadata& metadata, const std::filesystem::path& file);
void write_normalization(Metadata& metadata, const Normalization& normalization);

}  // namespace bend::train
