#pragma once
// Shared pieces of the bend CLI: the usage-error type, the training flags (shared by `train` and
// `compare`), and terminal helpers.
#include <cxxopts.hpp>

#include <string>

#include "bend/error.hpp"
#include "bend/train/trainer.hpp"

namespace bend::cli {

// A problem with the command line: exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// --dataset --data-dir --arch --act --init --opt --lr --momentum --nesterov --weight-decay --schedule
// --warmup --batch --epochs --steps --dropout --seed --threads --no-shuffle --standardize
// --label-smoothing --train-limit --test-limit
void add_training_flags(cxxopts::Options& options);
// Reads them into a config, validated (UsageError on bad values).
train::TrainConfig training_config(const cxxopts::ParseResult& args);

// Parses argv, printing --help and returning false when asked; throws UsageError on bad flags.
bool parse_or_help(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out);

// The one line main() prints for an exception that reached its last-resort catch: bend's own messages
// as they are, the standard library's in words (never "std::bad_alloc" or a bare "stof").
std::string describe_exception(const std::exception& error);

bool stdout_is_tty();
bool stderr_is_tty();

int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_predict(int argc, char** argv);
int run_info(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_lab(int argc, char** argv);
int run_plot(int argc, char** argv);

}  // namespace bend::cli
