#pragma once
// The optimizer registry: one entry per optimizer (its CLI name, a one-line summary, its options with
// PyTorch's keywords and defaults, and a factory). The CLI, its validation and help texts, the lab,
// the benchmarks and the tests all read this table, so adding an optimizer is its own header and
// source file plus one entry in src/optim/registry.cpp. An entry's options are a copy of the
// optimizer's option table (bend/optim/optimizer.hpp), where each option is written once.
//
// Option names are PyTorch's keywords (Adam's `betas` is split into beta1 and beta2) and are the keys
// of the optimizer's hyperparameters(), so checkpoints, the CLI and the table use one vocabulary.
// Flags (nesterov, centered, amsgrad) are options with the values 0 and 1.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bend/optim/optimizer.hpp"

namespace bend::optim {

struct OptimizerOption {
  std::string name;  // PyTorch's keyword: "lr", "momentum", "beta1", "eps", "centered", ...
  double default_value;
  std::string help;      // one line, for --help texts
  bool is_flag = false;  // boolean option (0/1)
};

using OptimizerOptions = std::map<std::string, double>;

struct OptimizerEntry {
  std::string name;                      // CLI name: "sgd", "adam", "adamw", "rmsprop"
  std::string summary;                   // one line for help texts
  std::vector<OptimizerOption> options;  // "lr" first, then PyTorch's keyword order
  // Builds the optimizer from complete options (every option present; see complete_options).
  std::function<std::unique_ptr<Optimizer>(std::vector<Tensor> params, const OptimizerOptions& options)> make;

  // The option called `option_name`, or nullptr.
  const OptimizerOption* find_option(std::string_view option_name) const;
  // Every option's default, by name.
  OptimizerOptions defaults() const;
  // "lr, momentum, dampening, weight_decay, nesterov", in table order.
  std::string option_names() const;
};

// Every optimizer, in registry order (sgd, adam, adamw, rmsprop).
const std::vector<OptimizerEntry>& optimizer_registry();
// The entry called `name`; ValueError listing the valid names otherwise.
const OptimizerEntry& find_optimizer(std::string_view name);
// "sgd, adam, adamw, rmsprop", for messages.
std::string optimizer_names();

// `given` with every missing option set to its default. ValueError for an option the optimizer does
// not take (naming the optimizer and the options it takes), a flag other than 0 or 1, and any value
// the optimizer itself rejects (checked by constructing it on a scratch parameter).
OptimizerOptions complete_options(const OptimizerEntry& entry, const OptimizerOptions& given);
// find_optimizer(name).make(params, complete_options(entry, given)).
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerOptions& given = {});

}  // namespace bend::optim

namespace bend {
using optim::complete_options;
using optim::find_optimizer;
using optim::make_optimizer;
using optim::optimizer_names;
using optim::optimizer_registry;
using optim::OptimizerEntry;
using optim::OptimizerOption;
using optim::OptimizerOptions;
}  // namespace bend
