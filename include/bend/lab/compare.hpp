#pragma once
// The activation comparison behind `bend compare`: one training run per activation and seed (the same
// seeds for every activation), diagnostics on a fixed probe batch at init and after every epoch, and
// the report files: report.md, curves.csv, summary.json, SVG charts and index.html.
//
// The runs are independent: a sweep may run several at once (CompareOptions::jobs, each run on a
// thread pool of its own) and spread them over the processes of an MPI job (run_compare with a
// dist::World); every run's numbers are the same as when it runs alone with the same thread count.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/data/text.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/stats/sample_summary.hpp"
#include "bend/stats/seed_comparison.hpp"
#include "bend/train/diagnostics.hpp"
#include "bend/train/trainer.hpp"

namespace bend::lab {

// "default" (or empty): the docs' table (sigmoid, tanh, relu, leaky_relu, gelu, silu); "all": every
// non-learnable table entry plus prelu; otherwise a comma list of table names (aliases resolved,
// duplicates dropped). Throws ValueError naming an unknown activation.
std::vector<std::string> parse_activation_list(std::string_view list);

// What a sweep ranks its activations by and tests over seeds.
enum class CompareMetric {
  TestAccuracy,  // the last epoch's test accuracy (image classifiers): higher is better
  ValLoss,       // the last estimate's val loss (language models): lower is better
};

struct CompareOptions {
  train::TrainConfig base;              // everything but the model and seed; checkpoints are never written
  std::string arch = "784-256-128-10";  // the model every run trains (nn::ModelSpec's --arch, with its input)
  std::string norm = "none";            // nn::ModelSpec's --norm
  float dropout = 0.0f;
  std::string init = "torch";            // nn::init::parse_scheme
  std::vector<std::string> activations;  // table names
  int seeds = 1;                         // runs per activation, seeds base.seed, base.seed + 1, ...
  std::int64_t probe_size = 512;         // first N test samples for the diagnostics
  std::string command_line;              // shown in the report
  // Runs at the same time in this process, each on its own ThreadBudget (bend/parallel.hpp) of
  // base.threads threads (0: default_num_threads() / jobs, at least 1). 1: one after another on the
  // calling thread with base.threads, as a single run would.
  int jobs = 1;
  // When not empty: every run that ends with a result (diverged included) is saved there at once as
  // runs/<activation>-seed<seed>.json (bend/lab/compare_run_file.hpp).
  std::filesystem::path run_dir;
  bool resume =
      false;  // with run_dir: runs saved there by a sweep with the same settings are loaded, not run
  // Also sees every run's Trainer events (e.g. a train::Profiler); with jobs == 1 only (one run at a time).
  train::TrainObserver* observer = nullptr;
  // A language model instead (`bend compare --model gpt`): when `corpus` is set, every run trains an
  // nn::GPT with `gpt` (its activation the run's) on it with nanoGPT's loop (base.max_steps, base.text,
  // base.batch, ...; an "epoch" of the records is one estimate of the train and val loss), the
  // diagnostics see each block's MLP on probe_size windows of the val split (train::diagnose_gpt), and
  // the sweep is ranked and tested on the last estimate's val loss (CompareMetric::ValLoss). arch, norm,
  // dropout and init are then unused, and run_compare's image datasets may be empty.
  std::shared_ptr<const TextCorpus> corpus;
  nn::GPTConfig gpt;

  bool language_model() const { return corpus != nullptr; }
  CompareMetric metric() const {
    return language_model() ? CompareMetric::ValLoss : CompareMetric::TestAccuracy;
  }
};

// One run of the grid: activation-major, seed-minor (index = activation * seeds + seed offset).
struct RunSpec {
  std::size_t index = 0;
  std::string activation;
  std::uint64_t seed = 0;
};
std::vector<RunSpec> sweep_runs(const CompareOptions& options);

struct RunRecord {
  std::string activation;
  std::uint64_t seed = 0;
  std::vector<train::EpochMetrics> history;
  train::Diagnostics initial;                   // before training
  std::vector<train::Diagnostics> diagnostics;  // after each epoch (same length as history)
  double total_seconds = 0;
  std::string error;  // non-empty when the run failed (e.g. diverged); history holds the epochs done
  // The run stopped with an error other than divergence (or never reported back): it has no result
  // and is not saved, so a --resume runs it again. `error` says which process and why.
  bool failed = false;
};

// Aggregates over the seeds of one activation. Accuracy is the last epoch's test accuracy.
struct ActivationSummary {
  std::string activation;
  int runs = 0, failed_runs = 0;  // failed: diverged or without a result
  int missing_runs = 0;           // of the failed, those without a result (RunRecord::failed)
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
  // (mean, sample std and 95% t interval; interval and std only with >= 2 runs). Empty (n 0) in a
  // language-model sweep, which measures no accuracy.
  stats::SampleSummary final_accuracy, best_accuracy;
  // The same for the sweep's metric (CompareResult::metric): the accuracies above, or each run's last
  // val loss and its lowest. The ranking, the table and the paired tests read these.
  stats::SampleSummary final_score, best_score;
};

struct CompareResult {
  std::vector<RunRecord> runs;  // activation-major, seed-minor
  std::vector<ActivationSummary> summary;
  CompareMetric metric = CompareMetric::TestAccuracy;  // what summarize() ranks and tests
  std::vector<std::string> ranking;  // activations by the metric's mean (final_score), best first
  // Paired comparison of the metric's last value over seeds (names in summary order; a diverged run is
  // left out of its activation's summary and of every pair involving its seed). For val loss the
  // ranking puts the lowest first (statistics.settings.higher_is_better false).
  stats::SeedComparison statistics;
  double total_seconds = 0;
  std::size_t resumed_runs = 0;  // loaded from run_dir instead of run (--resume)
  // False on the ranks other than 0 of an MPI sweep: `runs` holds only the runs this rank did, and
  // there are no summaries.
  bool complete = true;
};

// Progress of a sweep, for a display. `run` is the run's index in the grid (RunSpec::index). With
// jobs > 1 the runs' events interleave; the calls are never concurrent.
struct CompareObserver {
  virtual ~CompareObserver() = default;
  virtual void on_run_start(std::size_t /*run*/, std::size_t /*runs*/, const std::string& /*activation*/,
                            std::uint64_t /*seed*/) {}
  virtual void on_step(std::size_t /*run*/, const train::StepProgress&) {}
  virtual void on_epoch(std::size_t /*run*/, const train::EpochMetrics&, const train::Diagnostics&) {}
  virtual void on_run_end(std::size_t /*run*/, const RunRecord&) {}
};

// Runs the sweep on the given datasets (loaded once by the caller; each run gets its own copy when
// the config standardises inputs in place). A run that throws anything but TrainingDiverged is
// recorded as failed (RunRecord::failed) and the sweep goes on.
CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, CompareObserver* observer = nullptr);

// The same sweep spread over the ranks of `world` (every rank calls it with the same options; each
// loads the data itself): the runs to do (with resume: those rank 0 finds no file for) go round-robin
// to the ranks, each rank runs its share `jobs` at a time, and rank 0 gathers every record and returns
// the complete result, equal to a single process's. A rank's failed run comes back as a failed record
// naming the rank; no rank skips a collective. ValueError (bad options, a --resume directory from a
// sweep with other settings) is thrown on every rank alike.
CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, const dist::World& world,
                          CompareObserver* observer = nullptr);

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
