#pragma once
// Training diagnostics, fullest for an MLP held in a Sequential: per layer, on a fixed probe batch, the norm
// of the weight gradient of the loss, dead units, saturation, and the statistics of pre-activations and
// activations. These are the numbers behind the docs' claims (vanishing gradients in deep sigmoid
// nets, dying ReLUs) and behind `bend compare` and `bend lab`.
//
// Usable on any model at any time: diagnose() runs in eval mode and restores the mode, and it leaves
// every parameter gradient at zero (so call it between optimizer steps, e.g. from a TrainObserver's
// on_epoch).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/tensor.hpp"
#include "bend/train/trainer.hpp"

namespace bend::train {

// One Linear layer and the activation that follows it (if any).
struct LayerDiagnostics {
  std::size_t module_index = 0;  // position of the Linear in the Sequential
  std::string activation;        // table name ("relu"), "prelu", or empty when no activation follows
  std::int64_t units = 0;        // out_features of the Linear
  double weight_grad_norm = 0;   // ||dLoss/dW||_2 of the Linear's weight on the probe batch
  // Units whose activation derivative is exactly zero for every probe sample (ReLU: pre-activation
  // <= 0 for all). 0 when no activation follows.
  std::int64_t dead_units = 0;
  double dead_fraction = 0;
  // Fraction of all (sample, unit) pre-activations where |f'(x)| < saturation_threshold * max f'.
  double saturated_fraction = 0;
  double pre_mean = 0, pre_std = 0;  // of the Linear's output over every sample and unit
  double act_mean = 0, act_std = 0;  // of the activation's output (= pre when no activation)
  bool has_activation() const { return !activation.empty(); }
};

struct Diagnostics {
  std::vector<LayerDiagnostics> layers;  // every Linear in order; hidden layers have an activation
  double probe_loss = 0;                 // mean cross-entropy on the probe batch
  std::int64_t probe_samples = 0;
  // Weight-gradient norm of the first Linear divided by that of the last Linear (the output layer):
  // far below 1 when gradients vanish on their way back, far above when they explode.
  double grad_norm_ratio = 0;

  // The layers that have an activation (the hidden layers of an MLP).
  std::vector<const LayerDiagnostics*> hidden() const;
};

struct DiagnosticsOptions {
  double saturation_threshold = 0.05;  // relative to the activation's max derivative
};

// Diagnostics of `model` on images [N, features] with N labels. A Sequential's children are run one by
// one: Linear, Activation and PReLU modules are measured; a TransformerEncoderLayer (alone, or the blocks
// of a Sequential child, as --model vit's "blocks") is measured at its linear1 and feed-forward activation
// ("swiglu": the SiLU of the gate), each token of each sample counting as a sample of the unit;
// Dropout and other modules are run (in eval mode) without measurement. Any other module (one with its own
// forward, as the docs' Net) gets the weight-gradient norm of each of its Linear layers (in state_dict order)
// and the probe loss; its activations are not modules, so dead units and saturation are not measured. Throws
// ShapeError when images and labels disagree.
Diagnostics diagnose(nn::Module& model, const Tensor& images, std::span<const std::int32_t> labels,
                     const DiagnosticsOptions& options = {});

// Diagnostics of a GPT (bend/nn/gpt.hpp) on windows idx [N, T] of token ids with their next-token
// targets (N·T, row-major, as text_batch gives them): one layer per block, its mlp.c_fc with the MLP's
// activation ("swiglu": the SiLU of the gate), every token of every window counting as a sample of the
// unit (dead units, saturation, pre-activation statistics, c_fc's weight-gradient norm), then the output
// layer, lm_head (its weight is the token embedding's: the norm of that tensor's whole gradient); the
// probe loss is the mean cross-entropy; grad_norm_ratio is the first block's c_fc over lm_head. Eval
// mode, restored after; every gradient left at zero. ShapeError when idx and targets disagree.
Diagnostics diagnose_gpt(nn::GPT& model, const Tensor& idx, std::span<const std::int32_t> targets,
                         const DiagnosticsOptions& options = {});

// Diagnostics on the first min(probe_size, N) samples of `data` (a fixed probe batch).
Diagnostics diagnose(nn::Module& model, const TensorDataset& data, std::int64_t probe_size = 512,
                     const DiagnosticsOptions& options = {});

// The first min(probe_size, N) samples of `data` as a standalone probe (images copied).
TensorDataset probe_batch(const TensorDataset& data, std::int64_t probe_size = 512);

// A few lines for a terminal: one per Linear with its grad norm, dead units, saturation and
// pre-activation statistics, then the ratio.
std::string format_diagnostics(const Diagnostics& d);

// A TrainObserver that measures diagnostics on a fixed probe batch (the first probe_size test samples
// of the Trainer) before training and after every epoch, calls `callback` with each (epoch 0 is the
// init), keeps them, and forwards every event to `next` (may be null). For `bend train --diagnostics`:
//
//   DiagnosticsObserver diag(&console, 512, [](std::int64_t epoch, const Diagnostics& d) {
//     fmt::print("diagnostics after epoch {}:\n{}", epoch, format_diagnostics(d)); });
//   trainer.run(&diag);
class DiagnosticsObserver : public TrainObserver {
 public:
  using Callback = std::function<void(std::int64_t epoch, const Diagnostics&)>;
  explicit DiagnosticsObserver(TrainObserver* next = nullptr, std::int64_t probe_size = 512,
                               Callback callback = {});

  void on_start(Trainer& trainer) override;
  void on_phase(StepPhase phase) override;
  void on_step(const StepProgress& p) override;
  void on_epoch(const EpochMetrics& m) override;
  void on_checkpoint(const std::filesystem::path& path) override;

  const Diagnostics& initial() const { return initial_; }
  const std::vector<Diagnostics>& per_epoch() const { return per_epoch_; }  // after epochs 1, 2, ...

 private:
  TrainObserver* next_;
  std::int64_t probe_size_;
  Callback callback_;
  Trainer* trainer_ = nullptr;
  TensorDataset probe_;
  Diagnostics initial_;
  std::vector<Diagnostics> per_epoch_;
};

}  // namespace bend::train
