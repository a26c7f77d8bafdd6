// The command registry and `bend help`: one entry per command, read by the usage text, main()'s
// dispatch, `bend help <command>` and the tests.
#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "bend/data/registry.hpp"
#include "cli.hpp"

#ifndef BEND_VERSION
#error "BEND_VERSION must be defined by the build (CMake's project version)"
#endif

namespace bend::cli {
namespace {

constexpr std::array kCommands = {
    Command{"train",
            "train an MLP or a CNN (default: 784-256-128-10, ReLU, Adam 2e-3 with cosine decay, batch 64, 10 "
            "epochs on MNIST; "
            "--model lenet5)",
            run_train},
    Command{"eval", "loss, accuracy, per-class accuracy and confusion matrix of a saved model", run_eval},
    Command{
        "predict",
        "top-3 classes for a test image (--index N) or a PGM file (--image F); --batch N: the whole test set",
        run_predict},
    Command{"generate", "sample text from a GPT (bend train --model gpt), as nanoGPT's sample.py, streamed",
            run_generate},
    Command{"info", "architecture, parameters and training state of a model or checkpoint", run_info},
    Command{"export", "write a saved model as ONNX (--onnx), for ONNX Runtime and other frameworks",
            run_export},
    Command{"import", "read an ONNX model (an MLP or CNN chain) into a bend model file", run_import},
    Command{"compare", "train the same network with several activations and write a report", run_compare},
    Command{"lab", "the docs' claims, measured, with verdicts (bend lab all: every claim, one page)",
            run_lab},
    Command{"plot", "plot activations and their derivatives", run_plot},
    Command{"help", "this list; bend help <command> for its flags, bend help datasets for the datasets",
            run_help},
};

// The registry as a table: name, classes, sample shape, summary, and where the files are expected.
std::string datasets_text() {
  std::size_t width = 0;
  for (const DatasetEntry& e : dataset_registry()) width = std::max(width, e.name.size());
  std::string out = "Datasets (bend train --dataset NAME; --data-dir overrides the directory):\n\n";
  std::vector<std::string> hints_shown;  // the EMNIST splits share one hint: print it once
  for (const DatasetEntry& e : dataset_registry()) {
    std::error_code ec;
    const std::filesystem::path dir = e.default_dir();
    if (e.is_text())
      out += fmt::format("  {:<{}}  {:<21}  {}\n", e.name, width, "text (char or word)", e.summary);
    if (e.is_text())
      out += fmt::format(
          "  {:<{}}  vocabulary: --vocab char (nanoGPT's sorted characters; the default) or --vocab word "
          "(words and punctuation, <unk> first, then by frequency; cut with --vocab-size K, --min-count N)\n",
          "", width);
    else
      out += fmt::format("  {:<{}}  {:>3} classes  {:<8}  {}\n", e.name, width, e.num_classes,
                         fmt::format("{}", fmt::join(e.input_shape, "x")), e.summary);
    std::string status;
    if (!std::filesystem::is_directory(dir, ec)) {
      const bool shown = std::find(hints_shown.begin(), hints_shown.end(), e.fetch_hint) != hints_shown.end();
      status = shown ? " (not there; see above)" : fmt::format(" (not there; {})", e.fetch_hint);
      if (!shown) hints_shown.push_back(e.fetch_hint);
    }
    out += fmt::format("  {:<{}}  directory: {}{}\n", "", width, dir.string(), status);
  }
  return out;
}

// The recipe table: what each fills in, and what it reached when measured.
std::string recipes_text() {
  std::size_t width = 0;
  for (const train::Recipe& r : train::recipe_registry()) width = std::max(width, r.name.size());
  std::string out = "Recipes (bend train --recipe NAME; any flag given explicitly wins over the recipe):\n\n";
  for (const train::Recipe& r : train::recipe_registry())
    out += fmt::format("  {:<{}}  {}\n  {:<{}}  measured: {}\n", r.name, width, r.summary, "", width,
                       r.measured);
  return out;
}

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string command_names() {
  std::string out;
  for (const Command& c : kCommands) out += fmt::format("{}{}", out.empty() ? "" : ", ", c.name);
  return out;
}

std::string version_text() { return fmt::format("bend {}", BEND_VERSION); }

std::string usage_text() {
  std::size_t width = 0;
  for (const Command& c : kCommands) width = std::max(width, c.name.size());
  std::string out =
      "bend: train MLPs on MNIST-style datasets and see what each activation does.\n\n"
      "Usage: bend <command> [flags]     (bend help <command>, or bend <command> --help, for its flags)\n"
      "       bend --version\n\nCommands:\n";
  for (const Command& c : kCommands) out += fmt::format("  {:<{}}  {}\n", c.name, width, c.summary);
  out += fmt::format("\nDatasets: {} (bend help datasets)\n", dataset_names());
  out += fmt::format("Recipes: {} (bend help recipes)\n", train::recipe_names());
  return out;
}

int run_help(int argc, char** argv) {
  if (argc > 2) throw UsageError("takes at most one argument: bend help [<command> | datasets | recipes]");
  const std::string_view topic = argc == 2 ? std::string_view(argv[1]) : std::string_view();
  if (topic.empty() || topic == "help" || topic == "--help" || topic == "-h") {
    fmt::print("{}", usage_text());
    return 0;
  }
  if (topic == "datasets") {
    fmt::print("{}", datasets_text());
    return 0;
  }
  if (topic == "recipes") {
    fmt::print("{}", recipes_text());
    return 0;
  }
  const Command* command = find_command(topic);
  if (command == nullptr)
    throw UsageError(
        fmt::format("no command '{}'; commands are: {} (or bend help datasets, bend help recipes)", topic,
                    command_names()));
  // The command's own --help, so the text has one source.
  std::string name(command->name), flag("--help");
  std::array<char*, 3> args = {name.data(), flag.data(), nullptr};
  return command->run(2, args.data());
}

}  // namespace bend::cli
