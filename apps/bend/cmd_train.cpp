// bend train: train a model (an MLP, a preset or an --arch spec), with a progress bar on a terminal,
// per-epoch lines, checkpoints, Ctrl-C.
#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/dist/agreement.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/directory_lock.hpp"
#include "bend/parallel.hpp"
#include "bend/train/diagnostics.hpp"
#include "bend/train/gpt_source.hpp"
#include "bend/train/trainer.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

extern "C" void on_sigint(int) { train::request_stop(); }

std::string format_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.0f}s", seconds);
  return fmt::format("{:.0f}m{:02.0f}s", std::floor(seconds / 60), std::fmod(seconds, 60.0));
}

// One epoch's metrics as the JSON object --json prints and --metrics *.json stores.
nlohmann::json epoch_json(const train::EpochMetrics& m) {
  return {{"epoch", m.epoch},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"test_loss", m.test_loss},
          {"test_accuracy", m.test_accuracy},
          {"seconds", m.seconds},
          {"lr", m.lr},
          {"steps", m.steps}};
}

// Prints the run: a redrawn progress line on a terminal, one line per epoch, and JSON lines with --json.
class ConsoleObserver : public train::TrainObserver {
 public:
  ConsoleObserver(bool progress, bool quiet, bool json) : progress_(progress), quiet_(quiet), json_(json) {}

  std::string recipe_name;  // --recipe, which filled in what the flags left out

  void on_start(train::Trainer& t) override {
    if (quiet_ || json_) return;
    fmt::print("{}", model_summary(t.model(), t.train_data().features()));
    fmt::print("data: {} train / {} test images ({})\nrecipe {}: {}{}\n", t.train_data().size(),
               t.test_data().size(), t.config().dataset, recipe_name, t.recipe(),
               t.config().schedule == "none" || t.config().optimizer != "adam"
                   ? ""
                   : " (--schedule none: PyTorch's plain loop)");
    if (t.epochs_done() >= t.config().epochs)
      fmt::print("{} holds a finished run ({} of {} epochs, step {}): nothing left to train\n",
                 t.config().resume.string(), t.epochs_done(), t.config().epochs, t.steps_done());
    else if (t.epochs_done() > 0 || t.steps_done() > 0)
      fmt::print(
          "resumed from {} at epoch {}, step {}: model, optimizer state, schedule, seed and data order "
          "continue from the checkpoint\n",
          t.config().resume.string(), t.epochs_done() + 1, t.steps_done());
    fmt::print("\n");
    std::fflush(stdout);
  }

  void on_step(const train::StepProgress& p) override {
    if (!progress_ || quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int width = 30;
    const int filled = static_cast<int>(width * p.batch / std::max<std::int64_t>(1, p.batches));
    fmt::print(stderr, "\r\033[Kepoch {}/{} [{}{}] {}/{} loss {:.4f} {:.0f} samples/s ETA {}", p.epoch,
               p.epochs, std::string(static_cast<std::size_t>(filled), '='),
               std::string(static_cast<std::size_t>(width - filled), ' '), p.batch, p.batches, p.loss,
               p.samples_per_second, format_duration(p.eta_seconds));
    std::fflush(stderr);
  }

  void on_epoch(const train::EpochMetrics& m) override {
    if (progress_ && !quiet_) fmt::print(stderr, "\r\033[K");
    if (json_) {
      fmt::print("{}\n", epoch_json(m).dump());
    } else if (!quiet_) {
      fmt::print("epoch {:>3}  train loss {:.4f} acc {:6.2f}%  test loss {:.4f} acc {:6.2f}%  {:.2f}s\n",
                 m.epoch, m.train_loss, 100 * m.train_accuracy, m.test_loss, 100 * m.test_accuracy,
                 m.seconds);
    }
    std::fflush(stdout);
  }

 private:
  bool progress_, quiet_, json_;
  std::chrono::steady_clock::time_point last_draw_{};
};

void write_metrics(const std::filesystem::path& path, const std::vector<train::EpochMetrics>& history) {
  const bool json = path.extension() == ".json";
  std::string text;
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& m : history) rows.push_back(epoch_json(m));
    text = rows.dump(2) + "\n";
  } else {
    text = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr,steps\n";
    for (const auto& m : history)
      text += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.6f},{:.9g},{}\n", m.epoch, m.train_loss,
                          m.train_accuracy, m.test_loss, m.test_accuracy, m.seconds, m.lr, m.steps);
  }
  write_file_atomically(path, text);
}

}  // namespace

namespace {
int train_here(const cxxopts::ParseResult& args, const train::TrainConfig& config, const ModelFlags& model,
               const std::filesystem::path& metrics, const dist::World& world);
}  // namespace

int run_train(int argc, char** argv) {
  cxxopts::Options options(
      "bend train",
      "Train a classifier on an image dataset (MNIST by default): an MLP, LeNet-5 (--model "
      "lenet5) or any stack of conv, pool, norm, dropout and dense layers (--arch).");
  add_training_flags(options);
  add_gpt_flags(options);
  options.add_options("Output")("save", "write the final model here (.safetensors)",
                                cxxopts::value<std::string>())(
      "checkpoint-dir", "write checkpoint.safetensors here after every epoch (and on Ctrl-C)",
      cxxopts::value<std::string>()->default_value("checkpoints"))(
      "checkpoint-every",
      "also write it every N optimizer steps inside an epoch (--model gpt: between the estimates); a run "
      "killed at any instant loses at most N steps (0: once per epoch)",
      cxxopts::value<std::int64_t>()->default_value("0"))("resume", "continue from a checkpoint",
                                                          cxxopts::value<std::string>())(
      "init-from",
      "start from these weights (.safetensors; files without bend metadata use --arch/--act/--norm)",
      cxxopts::value<std::string>())("metrics", "write per-epoch metrics to FILE.csv or FILE.json",
                                     cxxopts::value<std::string>())(
      "diagnostics",
      "per hidden layer, at init and after every epoch: gradient norms, dead units, saturation, "
      "pre-activation statistics (on a probe batch of 512 test images)")(
      "json", "machine-readable output: one JSON object per epoch, then a summary")(
      "quiet", "print only the final line");
  options.add_options("Data-parallel (mpirun -np R bend train ...)")(
      "bucket-mb",
      "gradients are averaged over the ranks in buckets of this many MB, started during backward",
      cxxopts::value<double>()->default_value("25"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  check_profile_flags(args);
  if (args.count("resume") && args.count("init-from"))
    throw UsageError(
        "give --resume (continue a run: its weights, optimizer state and position) or --init-from (start a "
        "new run from a file's weights), not both");
  // The flags are read before MPI starts: a rank that fails here exits before any collective.
  const std::optional<train::CheckpointState> resumed =
      read_resumed(args.count("resume") ? args["resume"].as<std::string>() : std::string());
  // Language models: the text, the GPT and nanoGPT's loop (cmd_train_gpt.cpp).
  if ((args.count("model") && args["model"].as<std::string>() == "gpt") ||
      (resumed && train::is_gpt(resumed->model_metadata)))
    return train_gpt(args, resumed ? &*resumed : nullptr);
  if (args.count("text")) throw UsageError("--text trains a language model: add --model gpt");
  if (args.count("dataset")) try {
      if (find_dataset(args["dataset"].as<std::string>()).is_text())
        throw UsageError(fmt::format("{} is a text dataset: train a language model on it with --model gpt",
                                     args["dataset"].as<std::string>()));
    } catch (const ValueError&) {  // an unknown name: model_flags says so
    }
  train::TrainConfig config = training_config(args, resumed ? &*resumed : nullptr);
  config.data_parallel = true;
  const double bucket_mb = args["bucket-mb"].as<double>();
  if (!(bucket_mb > 0 && bucket_mb <= 4096))
    throw UsageError(fmt::format("--bucket-mb must be in (0, 4096], got {}", bucket_mb));
  config.bucket_bytes = static_cast<std::size_t>(bucket_mb * (1 << 20));
  const ModelFlags model = model_flags(args, resumed ? &*resumed : nullptr);
  if (args.count("save")) config.save = args["save"].as<std::string>();
  config.checkpoint_dir = args["checkpoint-dir"].as<std::string>();
  config.checkpoint_every = checkpoint_every_flag(args);
  if (args.count("resume")) config.resume = args["resume"].as<std::string>();
  if (args.count("init-from")) config.init_from = args["init-from"].as<std::string>();
  std::filesystem::path metrics;
  if (args.count("metrics")) {
    metrics = args["metrics"].as<std::string>();
    if (metrics.extension() != ".csv" && metrics.extension() != ".json")
      throw UsageError(fmt::format("--metrics '{}': the file must end in .csv or .json", metrics.string()));
  }
  if (!config.resume.empty() && !std::filesystem::exists(config.resume))
    throw UsageError(fmt::format("--resume {}: no such file", config.resume.string()));
  if (!config.init_from.empty() && !std::filesystem::exists(config.init_from))
    throw UsageError(fmt::format("--init-from {}: no such file", config.init_from.string()));

  // Under mpirun: one rank each, training data-parallel; rank 0 prints and writes files. An error on
  // one rank must reach every rank: where ranks can part ways they agree (dist::agree), and the job ends
  // with one line from rank 0 naming the failing rank; anything else a rank meets alone ends the whole
  // job at once (MPI_Abort), since the others may be waiting for it in a collective.
  dist::Environment mpi;
  const dist::World world = dist::world();
  if (world.is_root() && config.threads > 0)
    warn_if_oversubscribed("bend train", 1, config.threads, cores_available());
  try {
    return train_here(args, config, model, metrics, world);
  } catch (const dist::JobError& e) {
    // Every rank holds the same error and rank 0 says it. The others wait for that at a barrier: a rank
    // that exits 1 first makes mpirun end the job, and rank 0 could go before its line is out.
    if (world.is_root()) {
      fmt::print(stderr, "bend train: error: {}\n", printable(describe_exception(e)));
      std::fflush(stderr);
    }
    world.barrier();
    return 1;
  } catch (const train::TrainingDiverged&) {
    if (world.size() > 1 && !world.is_root()) return 1;  // every rank stopped on the agreed NaN
    throw;
  } catch (const std::exception& e) {
    if (world.size() == 1) throw;
    fmt::print(stderr, "bend train: error on rank {} of {}: {}; ending every rank of the MPI job\n",
               world.rank(), world.size(), printable(describe_exception(e)));
    std::fflush(stderr);
    world.abort(1);
  }
}

namespace {

int train_here(const cxxopts::ParseResult& args, const train::TrainConfig& config, const ModelFlags& model,
               const std::filesystem::path& metrics, const dist::World& world) {
  const bool root = world.is_root();
  const bool json = args.count("json") > 0 && root, quiet = args.count("quiet") > 0 || !root;
  std::optional<DirectoryLock> checkpoint_lock;  // one writer per checkpoint directory, for the whole run
  dist::agree(
      world,
      [&] {
        if (config.checkpoint_dir.empty() || !root) return;
        checkpoint_lock.emplace(config.checkpoint_dir, "bend train", "--checkpoint-dir");
        // What a run killed in the middle of writing a checkpoint left behind.
        if (const int stale = remove_stale_temporaries(config.checkpoint_dir); stale > 0)
          fmt::print(stderr, "removed {} temporary file{} of killed runs from {}\n", stale,
                     stale == 1 ? "" : "s", config.checkpoint_dir.string());
      },
      describe_exception);

  // A rank whose run cannot be built meets the others where they agree that theirs was.
  std::optional<train::Trainer> built;
  try {
    built.emplace(config, model.source());
  } catch (const dist::JobError&) {
    throw;
  } catch (const std::exception& e) {
    if (world.size() == 1 || !config.data_parallel) throw;
    dist::report_failure(world, describe_exception(e));
  }
  train::Trainer& trainer = *built;
  // (evaluate() takes 1000 test rows at a time)
  dist::agree(
      world,
      [&] {
        check_batch_fits_in_memory(model.spec, std::min(config.batch, trainer.train_data().size()),
                                   std::min<std::int64_t>(1000, trainer.test_data().size()));
      },
      describe_exception);
  ConsoleObserver observer(stderr_is_tty() && !json && root, quiet, json);
  observer.recipe_name = find_recipe_flag(args).name;
  train::clear_stop_request();
  // Ctrl-C, and the SIGTERM or SIGHUP a batch system or a closed terminal sends, stop the run after its
  // step with a checkpoint. Under mpirun a Ctrl-C reaches mpirun only, which ends the job (SIGTERM, then
  // SIGKILL to the ranks); a clean stop with one checkpoint: SIGUSR1 to mpirun (which forwards it to
  // every rank), or SIGINT or SIGTERM to any rank; the ranks agree within a step.
  const bool many = world.size() > 1;
  const auto handle_stop_signals = [many](void (*handler)(int)) {
    std::signal(SIGINT, handler);
    std::signal(SIGTERM, handler);
    std::signal(SIGHUP, handler);
    if (many) std::signal(SIGUSR1, handler);
  };
  handle_stop_signals(on_sigint);
  train::DiagnosticsObserver diagnostics(
      &observer, 512, [&](std::int64_t epoch, const train::Diagnostics& d) {
        if (!json && root)
          fmt::print("diagnostics {} epoch {}:\n{}", epoch == 0 ? "before" : "after", epoch,
                     train::format_diagnostics(d));
      });
  train::TrainObserver* watcher =
      args.count("diagnostics") ? static_cast<train::TrainObserver*>(&diagnostics) : &observer;
  const std::unique_ptr<train::Profiler> profiler = make_profiler(args, watcher);
  if (profiler) watcher = profiler.get();
  train::TrainResult result;
  try {
    result = trainer.run(watcher);
  } catch (...) {
    handle_stop_signals(SIG_DFL);
    throw;
  }
  handle_stop_signals(SIG_DFL);
  if (!root) return result.stopped ? 130 : 0;
  finish_profile(profiler.get(), args, json);
  if (!metrics.empty()) write_metrics(metrics, result.history);
  if (result.stopped) {
    fmt::print(
        stderr,
        "\ninterrupted after step {}: checkpoint written to {}\nresume with: bend train --resume {} ...\n",
        result.steps, result.stop_checkpoint.string(), result.stop_checkpoint.string());
    return 130;
  }
  if (json) {
    nlohmann::json summary = {{"best_test_accuracy", result.best_test_accuracy},
                              {"last_test_accuracy", result.last_test_accuracy},
                              {"seconds", result.total_seconds},
                              {"steps", result.steps}};
    if (!config.save.empty()) summary["model"] = config.save.string();
    fmt::print("{}\n", nlohmann::json{{"summary", summary}}.dump());
  } else {
    fmt::print("best test accuracy {:.2f}%, last {:.2f}%, total time {:.1f}s{}\n",
               100 * result.best_test_accuracy, 100 * result.last_test_accuracy, result.total_seconds,
               config.save.empty() ? "" : fmt::format("; model saved to {}", config.save.string()));
  }
  return 0;
}

}  // namespace

}  // namespace bend::cli
