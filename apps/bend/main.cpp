// bend: the command-line front end. `bend <command> [flags]`; every command has --help.
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C).
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "cli.hpp"

namespace {

constexpr std::string_view kUsage = R"(bend: train MLPs on MNIST and see what each activation does.

Usage: bend <command> [flags]     (bend <command> --help for its flags)

Commands:
  train     train an MLP (default: 784-256-128-10, ReLU, Adam 1e-3, batch 64, 10 epochs on MNIST)
  eval      loss, accuracy, per-class accuracy and confusion matrix of a saved model
  predict   top-3 classes for a test image (--index N) or a PGM file (--image F)
  info      architecture, parameters and training state of a model or checkpoint
  compare   train the same network with several activations and write a report
  lab       the docs' claims, measured: collapse | xor | vanishing | dying-relu
  plot      plot activations and their derivatives
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace bend::cli;
  if (argc < 2) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    if (command == "train") return run_train(argc - 1, argv + 1);
    if (command == "eval") return run_eval(argc - 1, argv + 1);
    if (command == "predict") return run_predict(argc - 1, argv + 1);
    if (command == "info") return run_info(argc - 1, argv + 1);
    if (command == "compare") return run_compare(argc - 1, argv + 1);
    if (command == "lab") return run_lab(argc - 1, argv + 1);
    if (command == "plot") return run_plot(argc - 1, argv + 1);
    fmt::print(stderr, "bend: unknown command '{}' (try bend --help)\n", command);
    return 2;
  } catch (const UsageError& e) {
    fmt::print(stderr, "bend {}: {}\n", command, e.what());
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "bend {}: {}\n", command, e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bend {}: error: {}\n", command, e.what());
    return 1;
  }
}
