// bend lab: every claim of the activation docs settled by an experiment, with a verdict.
//   bend lab NAME   one experiment (bend lab --help lists them)
//   bend lab all    every experiment, one HTML page with the table of claims, measurements and verdicts
// The experiments, their claims, thresholds and charts are one table in the library
// (bend/lab/claims.hpp, src/lab); this file parses the flags, loads MNIST once, prints and saves.
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/data/registry.hpp"
#include "bend/lab/claims.hpp"
#include "bend/parallel.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i)
      s += fmt::format("{:<{}}  ", cells[i], width[i]);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string experiment_list() {
  std::string out;
  for (const lab::Experiment& e : lab::experiments()) out += fmt::format("  {:<12} {}\n", e.name, e.summary);
  return out;
}

}  // namespace

int run_lab(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "";
  if (what.empty() || what == "-h" || what == "--help") {
    if (what.empty()) throw UsageError("name an experiment or 'all' (bend lab --help lists them)");
    fmt::print(
        "usage: bend lab EXPERIMENT|all [flags]\n"
        "Each experiment measures one claim of the activation docs and prints a verdict line:\n"
        "  claim: ... measured: ... → reproduced | not reproduced\n\n{}"
        "  all          every experiment, and one HTML page with all claims and charts\n\n"
        "flags: --data-dir DIR (MNIST), --out DIR (default lab-out/<experiment>), --seed N,\n"
        "       --train-limit N and --epochs N (override the defaults of every experiment that trains)\n",
        experiment_list());
    return 0;
  }
  std::vector<const lab::Experiment*> selected;
  if (what == "all") {
    for (const lab::Experiment& e : lab::experiments()) selected.push_back(&e);
  } else {
    try {
      selected.push_back(&lab::find_experiment(what));
    } catch (const ValueError& e) {
      throw UsageError(e.what());
    }
  }
  cxxopts::Options options("bend lab " + what,
                           "Measure the docs' claim(s) and decide the verdict.\n" + experiment_list());
  options.add_options()("data-dir", data_dir_flag_help(), cxxopts::value<std::string>())(
      "out", "directory for the page and charts",
      cxxopts::value<std::string>()->default_value("lab-out/" + what))(
      "seed", "random seed of every run", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "train-limit", "training images of every experiment that trains (default: each experiment's own)",
      cxxopts::value<std::int64_t>())(
      "epochs", "epochs of every experiment that trains (default: each experiment's own)",
      cxxopts::value<std::int64_t>());
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc - 1, argv + 1, args)) return 0;
  // Left out: each experiment's default (0 below). Given, they must be positive, as for bend train.
  std::int64_t train_limit = 0, epochs = 0;
  for (const auto& [flag, value] : {std::pair{"train-limit", &train_limit}, std::pair{"epochs", &epochs}}) {
    if (!args.count(flag)) continue;
    *value = args[flag].as<std::int64_t>();
    if (*value <= 0)
      throw UsageError(fmt::format(
          "--{} must be positive, got {} (leave it out for each experiment's default)", flag, *value));
  }
  lab::LabSettings settings;
  settings.seed = args["seed"].as<std::uint64_t>();
  settings.override_data(train_limit, epochs);
  const std::filesystem::path out = args["out"].as<std::string>();
  check_output_dir(out, "--out");
  set_num_threads(0);  // the default for this machine (reports a bad BEND_NUM_THREADS)

  const auto start = std::chrono::steady_clock::now();
  std::optional<lab::LabData> data;
  for (const lab::Experiment* e : selected)
    if (e->needs_data && !data) {
      const std::filesystem::path dir = args.count("data-dir")
                                            ? std::filesystem::path(args["data-dir"].as<std::string>())
                                            : std::filesystem::path();
      data = lab::LabData{load_dataset("mnist", dir, Split::Train), load_dataset("mnist", dir, Split::Test)};
    }

  std::vector<lab::LabResult> results;
  std::vector<std::string> failed;  // `all`: an experiment that cannot run does not take the others down
  for (const lab::Experiment* e : selected) {
    fmt::print("== {} ==\n", e->name);
    std::fflush(stdout);
    try {
      results.push_back(lab::run_experiment(*e, settings, data ? &*data : nullptr));
    } catch (const Error& error) {
      if (selected.size() == 1) throw;
      fmt::print(stderr, "bend lab {}: error: {}\n\n", e->name, error.what());
      failed.push_back(std::string(e->name));
      continue;
    }
    const lab::ClaimOutcome& o = results.back().outcome;
    for (const auto& n : o.notes) fmt::print("{}\n", n);
    if (!o.header.empty()) {
      fmt::print("\n");
      print_table(o.header, o.rows);
    }
    fmt::print("\n{}\nrule: {} ({:.1f}s)\n\n", lab::verdict_line(*e, o), o.threshold, o.seconds);
    std::fflush(stdout);
  }
  if (results.empty())
    throw Error(fmt::format("every experiment failed ({}); their errors are above", fmt::join(failed, ", ")));
  const std::string title =
      what == "all" ? "bend lab: the activation docs' claims, measured" : fmt::format("bend lab {}", what);
  lab::write_lab_page(results, out, title);
  if (results.size() > 1) {
    int reproduced = 0;
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : results) {
      reproduced += r.outcome.reproduced ? 1 : 0;
      rows.push_back({std::string(r.experiment->name), r.outcome.verdict_text(),
                      fmt::format("{:.1f}s", r.outcome.seconds)});
    }
    print_table({"experiment", "verdict", "time"}, rows);
    fmt::print("{} of {} claims reproduced in {:.0f}s\n", reproduced, results.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  fmt::print("page: {}\n", (out / "index.html").string());
  if (!failed.empty()) {
    fmt::print(stderr, "bend lab: {} of {} experiments failed ({}); the page has the others\n", failed.size(),
               selected.size(), fmt::join(failed, ", "));
    return 1;
  }
  return 0;
}

}  // namespace bend::cli
