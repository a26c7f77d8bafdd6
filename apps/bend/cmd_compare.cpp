// bend compare: train the same MLP with several activations (and seeds), measure diagnostics, and
// write a report (report.md, curves.csv, summary.json, SVG charts, index.html).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/data/loader.hpp"
#include "bend/data/registry.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/directory_lock.hpp"
#include "bend/lab/compare.hpp"
#include "bend/parallel.hpp"
#include "bend/plot/html_report.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

// The sweep's progress on stderr: a redrawn line on a terminal, one line per epoch otherwise. With
// several runs at once (--jobs, MPI ranks) the lines name their run; the calls are never concurrent.
class SweepProgress : public lab::CompareObserver {
 public:
  // text: a language model's sweep (steps and val loss, not epochs and test accuracy).
  SweepProgress(bool tty, std::string rank_prefix, bool text)
      : tty_(tty), text_(text), prefix_(std::move(rank_prefix)) {}

  void on_run_start(std::size_t run, std::size_t runs, const std::string& act, std::uint64_t seed) override {
    runs_ = runs;
    active_[run] = {act, seed};
  }

  void on_step(std::size_t run, const train::StepProgress& p) override {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (text_) {
      fmt::print(stderr, "\r\033[K{} step {}/{} loss {:.4f} ETA {:.0f}s", label(run), p.step, p.batches,
                 p.loss, p.eta_seconds);
      std::fflush(stderr);
      return;
    }
    constexpr int width = 24;
    const int filled = static_cast<int>(width * p.batch / std::max<std::int64_t>(1, p.batches));
    fmt::print(stderr, "\r\033[K{} epoch {}/{} [{}{}] loss {:.4f} {:.0f} samples/s", label(run), p.epoch,
               p.epochs, std::string(static_cast<std::size_t>(filled), '='),
               std::string(static_cast<std::size_t>(width - filled), ' '), p.loss, p.samples_per_second);
    std::fflush(stderr);
  }

  void on_epoch(std::size_t run, const train::EpochMetrics& m, const train::Diagnostics& d) override {
    std::string dead;
    for (const auto* h : d.hidden())
      dead += fmt::format("{}{:.1f}%", dead.empty() ? "" : "/", 100 * h->dead_fraction);
    if (text_) {
      fmt::print(stderr,
                 "{}{} step {}: train loss {:.4f}, val loss {:.4f}, dead {}, grad ratio {:.2e}, {:.2f}s\n",
                 tty_ ? "\r\033[K" : "", label(run), m.steps, m.train_loss, m.test_loss,
                 dead.empty() ? "n/a" : dead, d.grad_norm_ratio, m.seconds);
      std::fflush(stderr);
      return;
    }
    fmt::print(stderr,
               "{}{} epoch {}: train loss {:.4f}, test acc {:.2f}%, dead {}, grad ratio {:.2e}, {:.2f}s\n",
               tty_ ? "\r\033[K" : "", label(run), m.epoch, m.train_loss, 100 * m.test_accuracy,
               dead.empty() ? "n/a" : dead, d.grad_norm_ratio, m.seconds);
    std::fflush(stderr);
  }

  void on_run_end(std::size_t run, const lab::RunRecord& r) override {
    if (tty_) fmt::print(stderr, "\r\033[K");
    // A failed run's error starts with "failed on rank N" (or "failed", "interrupted") already.
    if (!r.error.empty()) fmt::print(stderr, "{}{}{}\n", label(run), r.failed ? ": " : " failed: ", r.error);
    std::fflush(stderr);
    active_.erase(run);
  }

 private:
  std::string label(std::size_t run) const {
    const auto it = active_.find(run);
    return it == active_.end() ? fmt::format("{}[{}/{}]", prefix_, run + 1, runs_)
                               : fmt::format("{}[{}/{}] {} seed {}", prefix_, run + 1, runs_,
                                             it->second.first, it->second.second);
  }

  bool tty_, text_;
  std::string prefix_;
  std::size_t runs_ = 0;
  std::map<std::size_t, std::pair<std::string, std::uint64_t>> active_;  // runs going on
  std::chrono::steady_clock::time_point last_draw_{};
};

// Every rank's error (empty: none) from a step that may fail on some ranks only; afterwards all ranks
// throw together, so none is left waiting in a collective.
void all_ranks_ok(const dist::World& world, const std::string& error) {
  if (world.size() == 1) {
    if (!error.empty()) throw Error(error);
    return;
  }
  // Ranks with the same error are named together: "rank 0, 1: <error>".
  std::vector<std::pair<std::string, std::string>> grouped;  // error, ranks
  const std::vector<std::string> errors = world.gather(error);
  for (std::size_t rank = 0; rank < errors.size(); ++rank) {
    if (errors[rank].empty()) continue;
    auto it =
        std::find_if(grouped.begin(), grouped.end(), [&](const auto& g) { return g.first == errors[rank]; });
    if (it == grouped.end())
      grouped.emplace_back(errors[rank], fmt::format("rank {}", rank));
    else
      it->second += fmt::format(", {}", rank);
  }
  std::string combined;
  for (const auto& [message, ranks] : grouped)
    combined += fmt::format("{}{}: {}", combined.empty() ? "" : "; ", ranks, message);
  world.broadcast(combined);
  if (!combined.empty()) throw Error(combined);
}

// --jobs 0: one run per core when the grid has at least as many runs as cores, else one at a time
// (each run then uses the threads). Under MPI each rank runs one at a time unless told otherwise.
int choose_jobs(int asked, std::size_t runs, const dist::World& world) {
  if (asked > 0)
    return static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(asked), std::max<std::size_t>(runs, 1)));
  if (world.size() > 1) return 1;
  const int cores = cores_available();
  return cores > 1 && runs >= static_cast<std::size_t>(cores) ? cores : 1;
}

// The default --out: "compare-" and the flags given that change the runs' numbers, sorted by name
// ("compare-acts-relu,gelu_epochs-3_model-lenet5"), so that two compares of other settings never write
// into one directory, and the same command again (--resume, other --jobs/--threads) finds its own.
// Only the flags that schedule the work (--jobs, --threads), the output, the data's location and the
// profiler's are left out. Long names are cut and end in a hash of the whole.
std::string default_out_dir(const cxxopts::ParseResult& args) {
  static const std::set<std::string> scheduling = {
      "out", "jobs", "threads", "resume", "data-dir", "help", "profile", "profile-trace", "profile-steps"};
  std::map<std::string, std::string> given;  // the last value of each flag
  for (const cxxopts::KeyValue& kv : args.arguments())
    if (!scheduling.count(kv.key())) given[kv.key()] = kv.value();
  if (given.empty()) return "compare-out";
  std::string name = "compare";
  for (const auto& [key, value] : given) {
    name += name == "compare" ? "-" : "_";
    name += key;
    if (value != "true") name += "-" + value;
  }
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("-_.,+=").find(c) == std::string_view::npos)
      c = '_';
  constexpr std::size_t kMaxLength = 96;
  if (name.size() > kMaxLength) {
    std::uint64_t hash = 1469598103934665603ull;  // FNV-1a of the whole name
    for (const char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    name = fmt::format("{}-{:08x}", name.substr(0, kMaxLength - 9), hash & 0xffffffffu);
  }
  return name;
}

bool is_gpt(const cxxopts::ParseResult& args) {
  return args.count("model") && args["model"].as<std::string>() == "gpt";
}

std::string command_line(int argc, char** argv) {
  std::string text = "bend";
  for (int i = 0; i < argc; ++i) {
    text += ' ';
    text += argv[i];
  }
  return text;
}

// One sweep and its report. `dataset`/`acts` (when not empty) and `seeds_default` (when > 0 and
// --seeds is not given) are a preset's; `result_out` receives the result on rank 0.
int compare_one(const cxxopts::ParseResult& args, int argc, char** argv, const std::string& dataset,
                const std::string& acts, int seeds_default, const std::filesystem::path& out,
                lab::CompareResult* result_out = nullptr) {
  lab::CompareOptions compare;
  if (is_gpt(args)) {
    // A language model: the text, the GPT and nanoGPT's loop as `bend train --model gpt` reads them.
    for (const char* flag : {"arch", "norm", "init", "epochs", "schedule", "recipe", "standardize",
                             "train-limit", "test-limit", "label-smoothing", "no-shuffle"})
      if (args.count(flag))
        throw UsageError(
            fmt::format("--{} does not apply to --model gpt (a GPT on a text, counted in --steps)", flag));
    GptSettings settings = gpt_settings(args, nullptr);
    compare.base = std::move(settings.loop);
    compare.gpt = settings.model;
    compare.corpus = std::make_shared<const TextCorpus>(std::move(settings.corpus));
    try {
      compare.base.validate();
    } catch (const ValueError& e) {
      throw UsageError(e.what());
    }
  } else {
    if (args.count("text")) throw UsageError("--text compares language models: add --model gpt");
    compare.base = training_config(args);
    if (!dataset.empty()) compare.base.dataset = dataset;
    const ModelFlags model = model_flags(args);
    compare.arch = model.arch;
    compare.norm = model.norm;
    compare.dropout = model.dropout;
    compare.init = model.init;
  }
  try {
    compare.activations = lab::parse_activation_list(acts.empty() ? args["acts"].as<std::string>() : acts);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  compare.seeds = seeds_default > 0 && !args.count("seeds") ? seeds_default : args["seeds"].as<int>();
  if (compare.seeds < 1) throw UsageError(fmt::format("--seeds must be >= 1, got {}", compare.seeds));
  // The plan holds a record per run: a bound before anything is allocated (a run takes seconds at least,
  // so a million runs is years of machine time, never what was meant).
  constexpr std::size_t kMaxRuns = 100000;
  if (compare.activations.size() * static_cast<std::size_t>(compare.seeds) > kMaxRuns)
    throw UsageError(fmt::format("--seeds {} x {} activation(s) is {} runs; at most {} runs per compare",
                                 compare.seeds, compare.activations.size(),
                                 compare.activations.size() * static_cast<std::size_t>(compare.seeds),
                                 kMaxRuns));
  // A language model's probe is windows of the val split (each block_size tokens): 32 unless given.
  compare.probe_size =
      compare.language_model() && !args.count("probe") ? 32 : args["probe"].as<std::int64_t>();
  if (compare.probe_size < 1)
    throw UsageError(fmt::format("--probe must be >= 1, got {}", compare.probe_size));
  compare.command_line = command_line(argc, argv);
  compare.run_dir = out;
  compare.resume = args.count("resume") > 0;
  const int jobs_flag = args["jobs"].as<int>();
  if (jobs_flag < 0) throw UsageError(fmt::format("--jobs must be >= 0, got {}", jobs_flag));

  // Under mpirun/srun the runs are spread over the ranks; rank 0 writes the report.
  const dist::World world = dist::world();
  const std::size_t runs = compare.activations.size() * static_cast<std::size_t>(compare.seeds);
  compare.jobs = choose_jobs(jobs_flag, runs, world);
  const std::unique_ptr<train::Profiler> profiler = make_profiler(args, nullptr);
  if (profiler && compare.jobs > 1) {
    if (world.is_root())
      fmt::print(stderr, "bend compare: --profile runs one run at a time (--jobs 1 instead of {})\n",
                 compare.jobs);
    compare.jobs = 1;
  }
  compare.observer = profiler.get();
  if (compare.jobs > 1) {
    // --threads is the total: each run gets its share.
    const int total = compare.base.threads > 0 ? compare.base.threads : default_num_threads();
    compare.base.threads = std::max(1, total / compare.jobs);
  }
  if (world.is_root())
    warn_if_oversubscribed("bend compare", compare.jobs,
                           compare.base.threads > 0 ? compare.base.threads : default_num_threads(),
                           cores_available());

  // The report goes to --out at the end: it must be writable before hours of runs (every rank checks).
  std::string out_error;
  std::optional<DirectoryLock> out_lock;  // one writer per --out directory, for the whole sweep
  try {
    check_output_dir(out, "--out");
    if (world.is_root()) {
      out_lock.emplace(out, "bend compare", "--out");
      // What a sweep killed in the middle of writing a run file or the report left behind.
      const int stale = remove_stale_temporaries(out) + remove_stale_temporaries(out / "runs");
      if (stale > 0)
        fmt::print(stderr, "removed {} temporary file{} of killed runs from {}\n", stale,
                   stale == 1 ? "" : "s", out.string());
    }
  } catch (const std::exception& e) {
    out_error = describe_exception(e);
  }
  all_ranks_ok(world, out_error);

  // The datasets are loaded once for every run (once per rank); a language model's text already is.
  TensorDataset train, test;
  std::string load_error;
  try {
    if (!compare.language_model()) {
      train = load_dataset(compare.base.dataset, compare.base.data_dir, Split::Train);
      test = load_dataset(compare.base.dataset, compare.base.data_dir, Split::Test);
    }
  } catch (const std::exception& e) {
    load_error = describe_exception(e);
  }
  all_ranks_ok(world, load_error);
  if (world.is_root() && compare.language_model())
    fmt::print(
        stderr,
        "comparing {} activation(s) x {} seed(s) in a GPT ({} layers, n_embd {}) on {} ({} characters, "
        "vocabulary {}), {} steps each; {} run(s) at a time{}, {} thread(s) each; report in {}\n",
        compare.activations.size(), compare.seeds, compare.gpt.n_layer, compare.gpt.n_embd,
        compare.corpus->name, compare.corpus->characters, compare.corpus->vocab_size(),
        compare.base.max_steps, compare.jobs,
        world.size() > 1 ? fmt::format(" on each of {} MPI ranks", world.size()) : "",
        compare.base.threads > 0 ? fmt::format("{}", compare.base.threads) : "default", out.string());
  else if (world.is_root())
    fmt::print(
        stderr,
        "comparing {} activation(s) x {} seed(s) on {} ({} train / {} test images), {} epochs each; {} "
        "run(s) at a time{}, {} thread(s) each; report in {}\n",
        compare.activations.size(), compare.seeds, compare.base.dataset,
        compare.base.train_limit > 0 ? std::min(compare.base.train_limit, train.size()) : train.size(),
        compare.base.test_limit > 0 ? std::min(compare.base.test_limit, test.size()) : test.size(),
        compare.base.epochs, compare.jobs,
        world.size() > 1 ? fmt::format(" on each of {} MPI ranks", world.size()) : "",
        compare.base.threads > 0 ? fmt::format("{}", compare.base.threads) : "default", out.string());

  SweepProgress progress(stderr_is_tty() && world.size() == 1 && compare.jobs == 1,
                         world.size() > 1 ? fmt::format("rank {} ", world.rank()) : std::string(),
                         compare.language_model());
  lab::CompareResult result;
  try {
    result = lab::run_compare(compare, train, test, world, &progress);
  } catch (const ValueError&) {
    throw;  // bad options or a --resume refused: every rank throws it alike
  } catch (const std::exception& e) {
    if (world.size() == 1) throw;
    // Runs catch their own errors; this is the sweep itself failing on this rank (a collective, a
    // malformed result), and the other ranks may be waiting for it: end the whole job.
    fmt::print(stderr, "bend compare: error on rank {}: {}\n", world.rank(), describe_exception(e));
    world.abort(1);
  }
  if (!result.complete) return 0;  // rank 0 reports
  if (result.resumed_runs > 0)
    fmt::print(stderr, "resumed: {} of {} run(s) loaded from {}\n", result.resumed_runs, runs,
               (out / "runs").string());
  const auto files = lab::write_compare_report(compare, result, out);
  if (result_out) *result_out = result;

  fmt::print("{}\n", lab::summary_table_markdown(result));
  fmt::print("ranking ({}): ", compare.language_model() ? "val loss, lowest first" : "test accuracy");
  for (std::size_t i = 0; i < result.ranking.size(); ++i)
    fmt::print("{}{}", i ? " > " : "", result.ranking[i]);
  fmt::print("\ntotal {:.1f}s; report: {}\n", result.total_seconds, (out / "index.html").string());
  finish_profile(profiler.get(), args, false);
  // Runs that failed (not diverged) have no result: the report lists them, --resume runs them again.
  std::size_t failed = 0;
  for (const lab::RunRecord& r : result.runs)
    if (r.failed) {
      fmt::print(stderr, "bend compare: {} seed {} has no result: {}\n", r.activation, r.seed, r.error);
      ++failed;
    }
  if (failed > 0) {
    fmt::print(stderr, "bend compare: {} of {} run(s) failed; `--resume` runs only those\n", failed, runs);
    return 1;
  }
  return 0;
}

struct DocsPresetPart {
  std::string dataset;
  std::filesystem::path dir;
  lab::CompareResult result;
};

// A dataset's name as people write it ("MNIST", "Fashion-MNIST"): the registry summary's words before
// its colon, else the registry name.
std::string display_name(const std::string& dataset) {
  if (dataset == "mnist") return "MNIST";
  const std::string& summary = find_dataset(dataset).summary;
  const auto colon = summary.find(':');
  return colon == std::string::npos ? dataset : summary.substr(0, colon);
}

// "98.48 ± 0.04%" (the std only with 2 or more runs), or "no result".
std::string accuracy_cell(const lab::ActivationSummary& s) {
  if (s.runs <= s.failed_runs) return "no result";
  return s.runs - s.failed_runs >= 2
             ? fmt::format("{:.2f} ± {:.2f}%", 100 * s.test_accuracy_mean, 100 * s.test_accuracy_std)
             : fmt::format("{:.2f}%", 100 * s.test_accuracy_mean);
}

// The table over every dataset, one row per activation: its last-epoch test accuracy on each dataset
// (mean ± std over seeds) and the first dataset's dead units per hidden layer. The README's table.
std::pair<std::vector<std::string>, std::vector<std::vector<std::string>>> docs_summary_table(
    const std::vector<DocsPresetPart>& parts) {
  std::vector<std::string> header = {"activation"};
  for (const DocsPresetPart& p : parts) header.push_back(display_name(p.dataset));
  header.push_back(fmt::format("dead units L1/L2 ({})", display_name(parts.front().dataset)));
  std::vector<std::vector<std::string>> rows;
  for (const lab::ActivationSummary& first : parts.front().result.summary) {
    std::vector<std::string> row = {first.activation};
    for (const DocsPresetPart& p : parts) {
      const auto it = std::find_if(p.result.summary.begin(), p.result.summary.end(),
                                   [&](const auto& s) { return s.activation == first.activation; });
      row.push_back(it == p.result.summary.end() ? "-" : accuracy_cell(*it));
    }
    std::string dead;
    for (const double f : first.dead_fraction)
      dead += fmt::format("{}{}%", dead.empty() ? "" : " / ", f == 0 ? "0" : fmt::format("{:.1f}", 100 * f));
    row.push_back(dead.empty() ? "-" : dead);
    rows.push_back(std::move(row));
  }
  return {header, rows};
}

// OUT/report.md and OUT/index.html of --preset docs: the table over both datasets, then each dataset's
// statistics and charts.
void write_docs_preset_index(const std::filesystem::path& out, const std::vector<DocsPresetPart>& parts,
                             const std::string& command) {
  const std::string title = "The docs' activation table, measured";
  const auto [header, rows] = docs_summary_table(parts);
  std::string md = fmt::format("# {}\n\n`{}`\n\n", title, command);
  md += "Last-epoch test accuracy, mean ± std over seeds:\n\n| " +
        fmt::format("{}", fmt::join(header, " | ")) + " |\n|---";
  for (std::size_t c = 1; c < header.size(); ++c) md += "|---:";
  md += "|\n";
  for (const auto& row : rows) md += "| " + fmt::format("{}", fmt::join(row, " | ")) + " |\n";
  md += "\n";
  plot::HtmlReport page(title);
  page.preformatted(command);
  page.paragraph(
      "Last-epoch test accuracy, mean ± std over seeds; dead units: the share of each hidden "
      "layer's units that output 0 for every probe sample after the last epoch.");
  page.table(header, rows);
  for (const DocsPresetPart& p : parts) {
    const std::string name = display_name(p.dataset);
    md += fmt::format(
        "## {}\n\n{}\n\n{}\n\n{}\n\nCharts: [{}/accuracy.svg]({}/accuracy.svg), full report: "
        "[{}/report.md]({}/report.md)\n\n",
        name, find_dataset(p.dataset).summary, lab::summary_table_markdown(p.result),
        lab::statistics_markdown(p.result), p.dataset, p.dataset, p.dataset, p.dataset);
    page.heading(name);
    const std::string& summary = find_dataset(p.dataset).summary;
    const auto colon = summary.find(": ");
    page.paragraph(fmt::format("{}. Ranking (test accuracy): {}.",
                               colon == std::string::npos ? summary : summary.substr(colon + 2),
                               fmt::join(p.result.ranking, " > ")));
    page.image(p.dataset + "/accuracy.svg", "test accuracy per epoch on " + name);
    page.link(p.dataset + "/index.html", "the full report: statistics, loss, gradients, dead units");
  }
  write_file_atomically(out / "report.md", md);
  page.save(out / "index.html");
  fmt::print("report over both datasets: {}\n", (out / "index.html").string());
}

}  // namespace

int run_compare(int argc, char** argv) {
  cxxopts::Options options(
      "bend compare",
      "Train one model (an MLP by default; --model, --arch) per activation (and seed) "
      "and compare accuracy, speed, dead units, saturation and gradient flow. --model gpt: "
      "a character-level GPT on a text (the language-model flags), its MLP's activation "
      "compared on val loss, lower being better.");
  add_training_flags(options);
  add_gpt_flags(options);
  options.add_options("Compare")(
      "acts",
      "comma list of activations, 'default' (the docs' table: sigmoid,tanh,relu,leaky_relu,gelu,silu) or "
      "'all' (every activation bend knows)",
      cxxopts::value<std::string>()->default_value("default"))(
      "seeds", "runs per activation, with seeds --seed, --seed+1, ...",
      cxxopts::value<int>()->default_value("1"))(
      "probe", "test samples in the diagnostics' probe batch (--model gpt: val windows, default 32)",
      cxxopts::value<std::int64_t>()->default_value("512"))(
      "out",
      "directory for the report; default: compare- and the flags given, e.g. compare-acts-relu,gelu_epochs-3 "
      "(compare-out with none), so compares of other settings never share a directory",
      cxxopts::value<std::string>())(
      "jobs",
      "runs at the same time, sharing --threads (each gets threads/jobs, at least 1); 0: one per core when "
      "there are at least as many runs as cores, else 1",
      cxxopts::value<int>()->default_value("0"))(
      "resume", "run only the runs whose result is not yet in OUT/runs (an interrupted sweep)")(
      "preset",
      "docs: the docs' table, measured: their six activations on MNIST and on Fashion-MNIST (--seeds 5 "
      "unless given), each in OUT/<dataset>, with OUT/report.md and OUT/index.html over both",
      cxxopts::value<std::string>());
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  check_profile_flags(args);
  if (args.count("act")) throw UsageError("bend compare takes --acts (a list), not --act");

  dist::Environment mpi;  // once per process: MPI may be initialised only once
  const std::filesystem::path out =
      std::filesystem::path(args.count("out") ? args["out"].as<std::string>() : default_out_dir(args));
  if (!args.count("preset")) return compare_one(args, argc, argv, {}, {}, 0, out);
  const std::string preset = args["preset"].as<std::string>();
  if (preset != "docs") throw UsageError(fmt::format("--preset '{}': the only preset is docs", preset));
  if (is_gpt(args)) throw UsageError("--preset docs compares image classifiers, not --model gpt");
  if (args.count("dataset") || args.count("data-dir") || args.count("acts"))
    throw UsageError("--preset docs chooses the datasets (mnist, fashion) and the activations itself");
  // The docs' table on each dataset, then one page over both.
  std::vector<DocsPresetPart> parts;
  int status = 0;
  for (const char* dataset : {"mnist", "fashion"}) {
    DocsPresetPart part{dataset, out / dataset, {}};
    status = std::max(status, compare_one(args, argc, argv, dataset, "default", 5, part.dir, &part.result));
    parts.push_back(std::move(part));
  }
  if (dist::world().is_root()) write_docs_preset_index(out, parts, command_line(argc, argv));
  return status;
}

}  // namespace bend::cli
