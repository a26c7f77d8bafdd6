// bend compare: train the same MLP with several activations (and seeds), measure diagnostics, and
// write a report (report.md, curves.csv, summary.json, SVG charts, index.html).
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "bend/data/loader.hpp"
#include "bend/lab/compare.hpp"
#include "bend/data/registry.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

// The sweep's progress on stderr: a redrawn line on a terminal, one line per epoch otherwise.
class SweepProgress : public lab::CompareObserver {
 public:
  explicit SweepProgress(bool tty) : tty_(tty) {}

  void on_run_start(std::size_t run, std::size_t runs, const std::string& act, std::uint64_t seed) override {
    run_ = run + 1;
    runs_ = runs;
    act_ = act;
    seed_ = seed;
  }

  void on_step(const train::StepProgress& p) override {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int width = 24;
    const int filled = static_cast<int>(width * p.batch / std::max<std::int64_t>(1, p.batches));
    fmt::print(stderr, "\r\033[K[{}/{}] {} seed {} epoch {}/{} [{}{}] loss {:.4f} {:.0f} samples/s", run_,
               runs_, act_, seed_, p.epoch, p.epochs, std::string(static_cast<std::size_t>(filled), '='),
               std::string(static_cast<std::size_t>(width - filled), ' '), p.loss, p.samples_per_second);
    std::fflush(stderr);
  }

  void on_epoch(const train::EpochMetrics& m, const train::Diagnostics& d) override {
    std::string dead;
    for (const auto* h : d.hidden())
      dead += fmt::format("{}{:.1f}%", dead.empty() ? "" : "/", 100 * h->dead_fraction);
    fmt::print(stderr,
               "{}[{}/{}] {} seed {} epoch {}: train loss {:.4f}, test acc {:.2f}%, dead {}, grad ratio "
               "{:.2e}, {:.2f}s\n",
               tty_ ? "\r\033[K" : "", run_, runs_, act_, seed_, m.epoch, m.train_loss, 100 * m.test_accuracy,
               dead.empty() ? "n/a" : dead, d.grad_norm_ratio, m.seconds);
    std::fflush(stderr);
  }

  void on_run_end(const lab::RunRecord& r) override {
    if (tty_) fmt::print(stderr, "\r\033[K");
    if (!r.error.empty())
      fmt::print(stderr, "[{}/{}] {} seed {} failed: {}\n", run_, runs_, act_, seed_, r.error);
    std::fflush(stderr);
  }

 private:
  bool tty_;
  std::size_t run_ = 0, runs_ = 0;
  std::string act_;
  std::uint64_t seed_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string command_line(int argc, char** argv) {
  std::string text = "bend";
  for (int i = 0; i < argc; ++i) {
    text += ' ';
    text += argv[i];
  }
  return text;
}

}  // namespace

int run_compare(int argc, char** argv) {
  cxxopts::Options options("bend compare",
                           "Train one model (an MLP by default; --model, --arch) per activation (and seed) and compare accuracy, speed, dead units, "
                           "saturation and gradient flow.");
  add_training_flags(options);
  options.add_options("Compare")(
      "acts",
      "comma list of activations, 'default' (the docs' table: sigmoid,tanh,relu,leaky_relu,gelu,silu) or "
      "'all' (every activation bend knows)",
      cxxopts::value<std::string>()->default_value("default"))(
      "seeds", "runs per activation, with seeds --seed, --seed+1, ...",
      cxxopts::value<int>()->default_value("1"))("probe", "test samples in the diagnostics' probe batch",
                                                 cxxopts::value<std::int64_t>()->default_value("512"))(
      "out", "directory for the report", cxxopts::value<std::string>()->default_value("compare-out"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (args.count("act")) throw UsageError("bend compare takes --acts (a list), not --act");

  lab::CompareOptions compare;
  compare.base = training_config(args);
  const ModelFlags model = model_flags(args);
  compare.arch = model.arch;
  compare.norm = model.norm;
  compare.dropout = model.dropout;
  compare.init = model.init;
  try {
    compare.activations = lab::parse_activation_list(args["acts"].as<std::string>());
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  compare.seeds = args["seeds"].as<int>();
  if (compare.seeds < 1) throw UsageError(fmt::format("--seeds must be >= 1, got {}", compare.seeds));
  compare.probe_size = args["probe"].as<std::int64_t>();
  if (compare.probe_size < 1)
    throw UsageError(fmt::format("--probe must be >= 1, got {}", compare.probe_size));
  compare.command_line = command_line(argc, argv);
  const std::filesystem::path out = args["out"].as<std::string>();

  // The datasets are loaded once for every run.
  TensorDataset train = load_dataset(compare.base.dataset, compare.base.data_dir, Split::Train);
  TensorDataset test = load_dataset(compare.base.dataset, compare.base.data_dir, Split::Test);
  fmt::print(stderr,
             "comparing {} activation(s) x {} seed(s) on {} ({} train / {} test images), {} epochs each\n",
             compare.activations.size(), compare.seeds, compare.base.dataset,
             compare.base.train_limit > 0 ? std::min(compare.base.train_limit, train.size()) : train.size(),
             compare.base.test_limit > 0 ? std::min(compare.base.test_limit, test.size()) : test.size(),
             compare.base.epochs);

  SweepProgress progress(stderr_is_tty());
  const lab::CompareResult result = lab::run_compare(compare, train, test, &progress);
  const auto files = lab::write_compare_report(compare, result, out);

  fmt::print("{}\n", lab::summary_table_markdown(result));
  fmt::print("ranking (test accuracy): ");
  for (std::size_t i = 0; i < result.ranking.size(); ++i)
    fmt::print("{}{}", i ? " > " : "", result.ranking[i]);
  fmt::print("\ntotal {:.1f}s; report: {}\n", result.total_seconds, (out / "index.html").string());
  return 0;
}

}  // namespace bend::cli
