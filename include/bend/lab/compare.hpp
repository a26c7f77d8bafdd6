#pragma once
// The activation comparison behind `bend compare`: one training run per activation and seed (the same
// seeds for every activation), diagnostics on a fixed probe batch at init and after every epoch, and
// the report files: report.md, curves.csv, summary.json, SVG charts and index.html.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/stats/sample_summary.hpp"
#include "bend/stats/seed_comparison.hpp"
#include "bend/train/diagnostics.hpp"
#include "bend/train/trainer.hpp"

namespace bend::lab {

// "default" (or empty): the docs' table (sigmoid, tanh, relu, leaky_relu, gelu, silu); "all": every
// non-learnable table entry plus prelu; otherwise a comma list of table names (aliases resolved,
// duplicates dropped). Throws ValueError naming an unknown activation.
std::vector<std::string> parse_activation_list(std::string_view list);

struct CompareOptions {
  train::TrainConfig base;               // everything but the model and seed; checkpoints are never written
  std::string arch = "784-256-128-10";   // the model every run trains (nn::ModelSpec's --arch, with its input)
  std::string norm = "none";             // nn::ModelSpec's --norm
  float dropout = 0.0f;
  std::string init = "torch";            // nn::init::parse_scheme
  std::vector<std::string> activations;  // table names
  int seeds = 1;                         // runs per activation, seeds base.seed, base.seed + 1, ...
  std::int64_t probe_size = 512;         // first N test samples for the diagnostics
  std::string command_line;              // shown in the report
};

struct RunRecord {
  std::string activation;
  std::uint64_t seed = 0;
  std::vector<train::EpochMetrics> history;
  train::Diagnostics initial;                   // before training
  std::vector<train::Diagnostics> diagnostics;  // after each epoch (same length as history)
  double total_seconds = 0;
  std::string error;  // non-empty when the run failed (e.g. diverged); history holds the epochs done
};

// Aggregates over the seeds of one activation. Accuracy is the last epoch's test accuracy.
struct ActivationSummary {
  std::string activation;
  int runs = 0, failed_runs = 0;
  double test_accuracy_mean = 0, test_accuracy_std = 0;  // over successful runs
  double best_test_accuracy = 0;                         // best epoch's seed-mean test accuracy
  std::int64_t best_epoch = 0;                           // epoch of best_test_accuracy (1-based)
  double final_train_loss = 0;
  double seconds_per_epoch = 0;
  std::vector<double> dead_fraction;       // per hidden layer, after the last epoch, mean over seeds
  std::vector<double> saturated_fraction;  // per hidden layer
  std::vector<double> grad_norms;          // per Linear (incl. output), after the last epoch
  std::vector<double> initial_grad_norms;  // per Linear, at init
  double grad_norm_ratio = 0;              // first / last Linear, after the last epoch
  // Over the successful runs: the last epoch's test accuracy, and each run's best epoch's test accuracy
  // (mean, sample std and 95% t interval; interval and std only with >= 2 runs).
  stats::SampleSummary final_accuracy, best_accuracy;
};

struct CompareResult {
  std::vector<RunRecord> runs;  // activation-major, seed-minor
  std::vector<ActivationSummary> summary;
  std::vector<std::string> ranking;  // activations by test accuracy mean, best first
  // Paired comparison of the last epoch's test accuracy over seeds (names in summary order; a diverged
  // run is left out of its activation's summary and of every pair involving its seed).
  stats::SeedComparison statistics;
  double total_seconds = 0;
};

// Progress of a sweep, for a display.
struct CompareObserver {
  virtual ~CompareObserver() = default;
  virtual void on_run_start(std::size_t /*run*/, std::size_t /*runs*/, const std::string& /*activation*/,
                            std::uint64_t /*seed*/) {}
  virtual void on_step(const train::StepProgress&) {}
  virtual void on_epoch(const train::EpochMetrics&, const train::Diagnostics&) {}
  virtual void on_run_end(const RunRecord&) {}
};

// Runs the sweep on the given datasets (loaded once by the caller; each run gets its own copy when
// the config standardises inputs in place).
CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, CompareObserver* observer = nullptr);

// Summaries and ranking from runs (run_compare fills them; exposed for tests and re-reporting).
void summarize(CompareResult& result);

// The printed summary table (also the body of report.md's table).
std::string summary_table_markdown(const CompareResult& result);

// report.md's statistics section: the per-activation interval table (final and best test accuracy),
// the pairwise table with Holm-adjusted p-values, the ranking in groups with the seeds-needed line, and
// notes on diverged runs. With fewer than 2 seeds it says that statistics need at least 2 seeds.
std::string statistics_markdown(const CompareResult& result);

// Writes report.md, curves.csv, summary.json, accuracy.svg, loss.svg, grad_norms.svg,
// dead_saturated.svg and index.html into `dir` (created if missing). Returns the files written.
std::vector<std::filesystem::path> write_compare_report(const CompareOptions& options,
                                                        const CompareResult& result,
                                                        const std::filesystem::path& dir);

}  // namespace bend::lab
