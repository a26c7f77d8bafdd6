#pragma once
// The claims of bend's activation docs, each settled by one experiment of `bend lab`. One table
// (experiments()) holds every experiment: its name, the docs' claim, the function that measures it and
// decides the verdict. `bend lab NAME`, `bend lab all` and the tests all read this table.
//
// A verdict is decided from the measurement against a stated threshold (ClaimOutcome::threshold), never
// written down in advance: "claim: ... measured: ... → reproduced" or "→ not reproduced". An experiment
// decided by seed statistics has a third verdict: "→ not settled at N seeds (a paired test would need about
// M)", when its paired test over the seeds it ran cannot tell the two sides apart.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/lab/transformer.hpp"
#include "bend/train/diagnostics.hpp"

namespace bend::lab {

// One SVG chart of an experiment: saved as `file` next to the page.
struct Chart {
  std::string file, caption, svg;
};

struct ClaimOutcome {
  // The measured numbers by name (what the verdict is computed from; the tests read them).
  std::vector<std::pair<std::string, double>> numbers;
  std::string measured;   // the numbers in one line of prose
  std::string threshold;  // the rule that decided `reproduced`
  bool reproduced = false;
  std::vector<std::string> header;  // the experiment's detail table
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // settings and remarks, one paragraph each
  std::vector<Chart> charts;
  double seconds = 0;
  // Seed statistics (experiments that compare runs over seeds): `settled` false when the paired test over
  // `seeds` seeds cannot decide; `seeds_needed` is then the estimate of stats::paired_sample_size (0:
  // no number of seeds would, the measured gap is 0 or beyond reach).
  bool settled = true;
  int seeds = 0, seeds_needed = 0;

  void set(std::string name, double value) { numbers.emplace_back(std::move(name), value); }
  // Marks the verdict as not settled at `seeds` seeds, `needed` being the estimate above.
  void not_settled(int seed_count, int needed);
  // The number called `name`; throws ValueError naming it when there is none.
  double number(std::string_view name) const;
};

// Data an experiment trains on: limits of the MNIST splits it uses (0: all).
struct DataLimits {
  std::int64_t train = 10000, test = 0;
};

struct CollapseSettings {
  std::vector<std::int64_t> sizes = {784, 256, 128, 10};  // three Linear layers: W3 W2 W1
  std::string act = "relu";                               // the comparison net's bend
  DataLimits data;
  TrainSettings train;  // Adam 1e-3, batch 64
  CollapseSettings() { train.epochs = 5; }
};

struct XorSettings {
  std::vector<std::string> acts = {"relu", "tanh", "sigmoid", "gelu", "leaky_relu", "silu"};
  std::int64_t hidden = 8, steps = 2000;
  double lr = 0.05;
};

struct VanishingSettings {
  std::vector<std::int64_t> depths = {20, 50};  // hidden layers
  std::int64_t width = 64;
  std::vector<std::string> acts = {"sigmoid", "tanh", "relu"};
  std::int64_t probe = 512;  // test images for the gradient measurement
};

struct DyingReluSettings {
  std::vector<std::int64_t> sizes = {784, 256, 128, 10};
  std::vector<std::string> acts = {"relu", "leaky_relu", "elu", "gelu"};
  // The kill event, a bad init: this fraction of the first hidden layer's units start with this bias.
  double kill_fraction = 0.98;
  float kill_bias = -3.0f;
  std::int64_t measure = 10000;  // training images on which a unit must be silent to count as dead
  DataLimits data;
  TrainSettings train;  // Adam 2e-3 (a sane rate), batch 64
  DyingReluSettings() {
    train.lr = 2e-3;
    train.epochs = 4;
  }
};

struct DipSettings {
  int points = 40001;  // samples of the activation table on each range
};

struct InitSettings {
  std::int64_t depth = 20, width = 128;
  std::vector<std::string> acts = {"relu", "leaky_relu"};
  std::vector<std::string> schemes = {"he", "lecun", "torch"};  // the first is the matched one
  std::int64_t probe = 512;
  DataLimits data;
  TrainSettings train;
  InitSettings() {
    train.optimizer = "sgd";
    train.lr = 0.01;
    train.momentum = 0.9;
    train.epochs = 1;
    train.threads = 1;  // 20 narrow layers: a thread barrier per op costs more than it saves
  }
};

struct BatchNormSettings {
  std::int64_t depth = 20, width = 64;
  std::int64_t probe = 512;
  DataLimits data;
  TrainSettings train;  // Adam 1e-3, batch 64
  BatchNormSettings() {
    train.epochs = 2;
    train.threads = 1;  // 20 narrow layers: a thread barrier per op costs more than it saves
  }
};

// Claims 8-12 of issue 25 (src/lab/selu.cpp, softplus_variance.cpp, sparse_codes.cpp,
// output_activations.cpp, large_step.cpp).
struct SeluSettings {
  std::int64_t depth = 32, width = 64;  // hidden layers
  float alpha_dropout = 0.05f;          // AlphaDropout after the last hidden SELU
  std::int64_t probe = 512;
  DataLimits data;
  TrainSettings train;  // Adam 1e-3, batch 64
  SeluSettings() {
    train.epochs = 2;
    train.threads = 1;  // narrow layers: a thread barrier per op costs more than it saves
  }
};

struct SoftplusVarianceSettings {
  std::int64_t points = 2000, test_points = 1000;  // synthetic 1-d regression samples
  std::int64_t hidden = 64;                        // 1-hidden-hidden-2 (mean, variance)
  std::int64_t epochs = 30, batch = 64;
  std::vector<double> lrs = {1e-3, 1e-2, 3e-2};  // Adam
  int seeds = 2;
};

struct SparseCodesSettings {
  std::vector<std::int64_t> sizes = {784, 128, 32};  // encoder to the code; the decoder mirrors it
  std::vector<std::string> acts = {"hardshrink", "softshrink", "relu", "tanh"};  // the code's activation
  DataLimits data{5000, 1000};
  std::int64_t epochs = 5, batch = 64;
  double lr = 1e-3;  // Adam
};

struct OutputActivationsSettings {
  std::int64_t hidden = 64;                             // binary task: 784-hidden-1 or -2
  std::vector<std::int64_t> hidden_sizes = {128, 128};  // sigmoid vs ReLU hidden layers, 10 classes
  DataLimits data{6000, 2000};
  std::int64_t epochs = 3, batch = 64;
  double lr = 1e-3;  // Adam
};

struct LargeStepSettings {
  std::vector<std::int64_t> sizes = {784, 256, 128, 10};
  double lr = 0.05;                                      // SGD: warm-up epoch and recovery epoch
  std::vector<double> multipliers = {1, 10, 100, 1000};  // the one large step's lr, × lr
  std::int64_t measure = 5000;                           // training images a dead unit is silent on
  DataLimits data{5000, 1000};
  std::int64_t batch = 64;
};

// Every experiment's settings; the defaults are `bend lab`'s.
struct LabSettings {
  CollapseSettings collapse;
  XorSettings xor_;
  VanishingSettings vanishing;
  DyingReluSettings dying_relu;
  DipSettings dip;
  InitSettings init;
  BatchNormSettings batchnorm;
  TransformerSettings transformer;
  SeluSettings selu;
  SoftplusVarianceSettings softplus_variance;
  SparseCodesSettings sparse_codes;
  OutputActivationsSettings output_activations;
  LargeStepSettings large_step;
  std::uint64_t seed = 0;  // init and data order of every run
  // `bend lab all --quick`: small sizes (the tests'), every experiment in seconds. The experiments that keep
  // their settings in their own file read this flag; quick_settings() sets it and the others' sizes.
  bool quick = false;

  // --train-limit / --epochs for every experiment that trains on MNIST (a value <= 0 keeps the default).
  void override_data(std::int64_t train_limit, std::int64_t epochs);
};

// The settings of `bend lab --quick` and of the tests: small data, few epochs, narrower nets where the
// claim survives it.
LabSettings quick_settings();

// MNIST as loaded once by the caller; each experiment takes the first DataLimits of it.
struct LabData {
  TensorDataset train, test;
};

struct Experiment {
  std::string_view name;     // "collapse"
  std::string_view claim;    // the docs' claim, in the docs' words where they give numbers
  std::string_view summary;  // one line for `bend lab --help`
  bool needs_data;           // trains or measures on MNIST (LabData must be given)
  ClaimOutcome (*run)(const LabSettings&, const LabData*);
};

// The table, in the order of the docs.
std::span<const Experiment> experiments();
// The entry called `name`; throws ValueError listing the names.
const Experiment& find_experiment(std::string_view name);

// "reproduced", "not reproduced" or "not settled at N seeds (a paired test would need about M)".
std::string verdict_text(const ClaimOutcome& o);
// "claim: <claim> measured: <measured> → <verdict_text>".
std::string verdict_line(const Experiment& e, const ClaimOutcome& o);

struct LabResult {
  const Experiment* experiment = nullptr;
  ClaimOutcome outcome;
};

// Runs one entry (timing it).
LabResult run_experiment(const Experiment& e, const LabSettings& settings, const LabData* data);

// Writes index.html (the table of claims, measurements and verdicts, then every experiment's details and
// charts), the charts as <experiment>-<file>, and table.md (the table of claims as Markdown) into `dir`.
// Returns the files written.
std::vector<std::filesystem::path> write_lab_page(std::span<const LabResult> results,
                                                  const std::filesystem::path& dir, std::string_view title);

// The experiments' measuring functions (each in src/lab/<name>.cpp).
ClaimOutcome collapse_claim(const LabSettings&, const LabData*);
ClaimOutcome xor_claim(const LabSettings&, const LabData*);
ClaimOutcome vanishing_claim(const LabSettings&, const LabData*);
ClaimOutcome dying_relu_claim(const LabSettings&, const LabData*);
ClaimOutcome dip_claim(const LabSettings&, const LabData*);
ClaimOutcome init_claim(const LabSettings&, const LabData*);
ClaimOutcome batchnorm_claim(const LabSettings&, const LabData*);
// Issue 25, claims 1-7 (each in src/lab/<name>.cpp).
ClaimOutcome relu_sparsity_claim(const LabSettings&, const LabData*);
ClaimOutcome gelu_noise_claim(const LabSettings&, const LabData*);
ClaimOutcome silu_twin_claim(const LabSettings&, const LabData*);
ClaimOutcome cost_claim(const LabSettings&, const LabData*);
ClaimOutcome zero_centred_claim(const LabSettings&, const LabData*);
ClaimOutcome explode_claim(const LabSettings&, const LabData*);
ClaimOutcome approximation_claim(const LabSettings&, const LabData*);
ClaimOutcome transformer_claim(const LabSettings&, const LabData*);  // src/lab/transformer.cpp
ClaimOutcome selu_claim(const LabSettings&, const LabData*);
ClaimOutcome softplus_variance_claim(const LabSettings&, const LabData*);
ClaimOutcome sparse_codes_claim(const LabSettings&, const LabData*);
ClaimOutcome output_activations_claim(const LabSettings&, const LabData*);
ClaimOutcome large_step_claim(const LabSettings&, const LabData*);
// Issue 25, claim 14: src/lab/large_vocab.cpp (a word-level GPT on the fortunes corpus; its settings
// live there and follow LabSettings::quick).
ClaimOutcome large_vocab_claim(const LabSettings&, const LabData*);

// Helpers the experiments share.
// The first `limits` of data (an independent copy only when it is cut).
LabData limit_data(const LabData& data, const DataLimits& limits);
// Weight-gradient norm of every Linear of `net` for the cross-entropy on images/labels, with the
// net in training mode (batch statistics for BatchNorm) or eval mode; leaves the gradients at zero and
// the mode as it was.
std::vector<double> linear_grad_norms(nn::Sequential& net, const Tensor& images,
                                      std::span<const std::int32_t> labels, bool training);
// What the deep-network experiments (init, batchnorm) start from: the data cut to their limits, a probe
// batch of their test split, their training settings with the lab's seed, and the layer sizes of a
// `depth` x `width` MLP for the data.
struct DeepSetup {
  LabData data;
  TensorDataset probe;
  TrainSettings train;
  std::vector<std::int64_t> sizes;
};
template <class Settings>
DeepSetup deep_setup(const Settings& s, std::uint64_t seed, const LabData& mnist) {
  DeepSetup d{limit_data(mnist, s.data), {}, s.train, {}};
  d.probe = train::probe_batch(d.data.test, s.probe);
  d.train.seed = seed;
  d.sizes = {d.data.train.features()};
  for (std::int64_t i = 0; i < s.depth; ++i) d.sizes.push_back(s.width);
  d.sizes.push_back(d.data.train.num_classes);
  return d;
}
// (first / last)^(1 / (n - 1)) of a list of per-layer norms: the mean factor by which the gradient
// shrinks (< 1) or grows (> 1) per layer on its way back to the input.
double per_layer_factor(const std::vector<double>& norms);

}  // namespace bend::lab
