#pragma once
// Shared pieces of the bend CLI: the command registry, the usage-error type, the training flags
// (shared by `train` and `compare`), and terminal helpers.
#include <cxxopts.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bend/data/registry.hpp"
#include "bend/data/text.hpp"
#include "bend/error.hpp"
#include "bend/train/profiler.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/train/recipe.hpp"
#include "bend/train/trainer.hpp"

namespace bend::cli {

// A problem with the command line: exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// One `bend <name>` command. The table in commands.cpp is the only list of commands: the usage text,
// the dispatch in main(), `bend help <command>` and the tests all read it.
struct Command {
  std::string_view name;
  std::string_view summary;           // one line for `bend help`
  int (*run)(int argc, char** argv);  // argv[0] is the command name; returns the exit code
};

// Every command, in the order `bend help` lists them.
std::span<const Command> commands();
// The command called `name`, or nullptr.
const Command* find_command(std::string_view name);
// "train, eval, ..." for messages.
std::string command_names();
// `bend help`'s text: the commands with their one-line summaries.
std::string usage_text();
// "bend <version>", the version being CMake's project version.
std::string version_text();

// Help texts of the --dataset and --data-dir flags, from the dataset registry.
std::string dataset_flag_help();
std::string data_dir_flag_help();
// The MLP trained when --arch is not given: <inputs>-256-128-<classes> ("784-256-128-10" for mnist).
std::string default_arch(const DatasetEntry& dataset);

// The model a command builds: --model (a preset) or --arch (the model-spec grammar of
// bend/nn/model_spec.hpp), --act --norm --init --dropout.
void add_mlp_flags(cxxopts::Options& options);
// The --arch help text: the grammar, from the layer table.
std::string arch_flag_help();
struct ModelFlags {
  std::string arch, act, init,
      norm;  // arch: canonical, with the input ("1x28x28-c6k5p2-...", "784-256-128-10")
  float dropout = 0.0f;
  bool given = false;  // --model, --arch, --act, --norm or --dropout was on the command line
  nn::ModelSpec spec;
  nn::init::Scheme scheme{};
  train::ModelSource source() const;
};
// UsageError on bad values; ValueError when the model does not take the dataset's samples.
// `resumed`: the checkpoint of `bend train --resume`, whose model and dataset fill in what the flags
// leave out.
ModelFlags model_flags(const cxxopts::ParseResult& args, const train::CheckpointState* resumed = nullptr);
// A Sequential's layer table for one sample of `features` inputs; any other module's describe() and size.
std::string model_summary(nn::Module& model, std::int64_t features);

// The model flags plus --dataset --data-dir --opt --lr --momentum --nesterov --weight-decay --opt-arg
// --schedule --warmup --batch --epochs --steps --seed --threads --no-shuffle --standardize
// --label-smoothing --train-limit --test-limit. Help texts list the optimizer and dataset registries.
void add_training_flags(cxxopts::Options& options);
// --profile, --profile-trace FILE, --profile-steps N (profile_flags.cpp; part of the training flags).
void add_profile_flags(cxxopts::Options& options);
// UsageError for bad profiling flags, before any data is read (make_profiler checks them too).
void check_profile_flags(const cxxopts::ParseResult& args);
// A profiler that passes the run's events on to `next`, when --profile or --profile-trace is given;
// null otherwise. UsageError on bad values (a trace in a directory that does not exist).
std::unique_ptr<train::Profiler> make_profiler(const cxxopts::ParseResult& args, train::TrainObserver* next);
// After the run: prints the profiler's table (stdout, or stderr) and writes --profile-trace. No-op for null.
void finish_profile(train::Profiler* profiler, const cxxopts::ParseResult& args, bool to_stderr);
// Reads the training flags into a config, validated (UsageError on bad values).
// `resume`: the checkpoint of `bend train --resume`, whose settings fill in what the flags leave out.
train::TrainConfig training_config(const cxxopts::ParseResult& args,
                                   const std::filesystem::path& resume = {});
train::TrainConfig training_config(const cxxopts::ParseResult& args, const train::CheckpointState* resumed);
// The checkpoint at `resume` (nothing when the path is empty or not a file).
std::optional<train::CheckpointState> read_resumed(const std::filesystem::path& resume);
// The --recipe the command line names (UsageError for an unknown name).
const train::Recipe& find_recipe_flag(const cxxopts::ParseResult& args);

// Parses argv, printing --help and returning false when asked; throws UsageError on bad flags.
bool parse_or_help(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out);

// The one line main() prints for an exception that reached its last-resort catch: bend's own messages
// as they are, the standard library's in words (never "std::bad_alloc" or a bare "stof").
std::string describe_exception(const std::exception& error);

// IoError naming `flag` and the directory unless it can be made and a file written in it: commands that
// run for hours before writing (compare, lab) check this before the first run.
void check_output_dir(const std::filesystem::path& dir, std::string_view flag);

// One line on stderr ("<command>: warning: ...") when `jobs` runs of `threads_each` threads would run
// more threads than this process's cores: they then take turns and every epoch is slower (2 runs of 2
// threads on 2 cores: 2.5 s an epoch instead of about 1 s). False when they fit.
bool warn_if_oversubscribed(std::string_view command, int jobs, int threads_each, int cores);

// ValueError when a batch of `train_rows` (training: every layer's output and its gradient) or
// `eval_rows` (evaluation, no tape) of `spec` cannot fit in this machine's physical memory. The weights
// and one row are checked when the model is built; this covers the batch, before the first step.
void check_batch_fits_in_memory(const nn::ModelSpec& spec, std::int64_t train_rows, std::int64_t eval_rows);

// `text` with its control characters (ESC, CR, newlines; not tabs) written as \xNN: for messages that
// echo what the user typed (--arch, --dataset, file names), so nothing typed reaches the terminal raw.
std::string printable(std::string_view text);

bool stdout_is_tty();
bool stderr_is_tty();

// --checkpoint-every N (bend train, image models and GPT alike): >= 0, 0 meaning once per epoch.
std::int64_t checkpoint_every_flag(const cxxopts::ParseResult& args);

// bend train --model gpt (cmd_train_gpt.cpp): the language-model flags, and the run.
void add_gpt_flags(cxxopts::Options& options);
// The language model's settings from those flags and the training flags: the text (--text or --dataset,
// fortunes by default), the GPT and nanoGPT's loop, nanoGPT's CPU settings where not given; `resumed`
// (bend train --resume) fills in what the flags leave out. UsageError on bad input. (bend compare --model
// gpt reads them too.)
struct GptSettings {
  TextCorpus corpus;
  nn::GPTConfig model;
  train::TrainConfig loop;
};
GptSettings gpt_settings(const cxxopts::ParseResult& args, const train::CheckpointState* resumed);
int train_gpt(const cxxopts::ParseResult& args, const train::CheckpointState* resumed);

int run_train(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_eval(int argc, char** argv);
// eval and predict (cmd_eval.cpp): --model/--arch/--act/--norm, the model they name, its test set (the
// file's dataset unless --dataset; --data-dir) and both together, normalised with the file's statistics
// and checked against the model's input (UsageError when they do not fit).
void add_model_flags(cxxopts::Options& options);
nn::LoadedModel load_model_from_args(const cxxopts::ParseResult& args);
TensorDataset test_set_from_args(const cxxopts::ParseResult& args, const nn::Metadata& metadata);
void apply_saved_normalization(Tensor& images, const nn::Metadata& metadata, const std::filesystem::path& model);
struct ModelAndTestSet {
  nn::LoadedModel loaded;
  TensorDataset test;
};
ModelAndTestSet load_model_and_test_set(const cxxopts::ParseResult& args);
int run_predict(int argc, char** argv);
int run_info(int argc, char** argv);
int run_export(int argc, char** argv);
int run_import(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_lab(int argc, char** argv);
int run_plot(int argc, char** argv);
// bend help [<command> | datasets]
int run_help(int argc, char** argv);

}  // namespace bend::cli
