// The training flags shared by `bend train` and `bend compare`, and small terminal helpers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/data/registry.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/optim/registry.hpp"
#include "bend/train/schedule.hpp"
#include "cli.hpp"

namespace bend::cli {

std::string describe_exception(const std::exception& error) {
  if (dynamic_cast<const Error*>(&error) != nullptr) return error.what();
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr ||
      dynamic_cast<const std::length_error*>(&error))
    return "out of memory: a size given on the command line or read from a file is too large for this "
           "machine";
  if (dynamic_cast<const std::filesystem::filesystem_error*>(&error) != nullptr) {
    // libstdc++: "filesystem error: cannot create directories: Permission denied [/proc/x]"; the
    // library's name for its exception adds nothing for the user.
    std::string_view what = error.what();
    if (what.starts_with("filesystem error: "))
      what.remove_prefix(std::string_view("filesystem error: ").size());
    return std::string(what);
  }
  if (const auto* system = dynamic_cast<const std::system_error*>(&error))
    return fmt::format("system error: {}", system->code().message());
  const std::string_view what = error.what();
  if (what.starts_with("std::") || what.empty())
    return "internal error: an unexpected exception (please report this with the command line)";
  return fmt::format("internal error: {} (please report this with the command line)", what);
}

bool warn_if_oversubscribed(std::string_view command, int jobs, int threads_each, int cores) {
  const long total = static_cast<long>(jobs) * threads_each;
  if (total <= cores) return false;
  if (jobs > 1)
    fmt::print(stderr,
               "{}: warning: {} runs at a time x {} threads = {} threads on {} core(s): they take turns and "
               "each epoch is slower; use --threads {} (or --jobs {})\n",
               command, jobs, threads_each, total, cores, cores, std::max(1, cores / threads_each));
  else
    fmt::print(stderr,
               "{}: warning: --threads {} on {} core(s): the threads take turns and each epoch is slower; "
               "use --threads {}\n",
               command, threads_each, cores, cores);
  return true;
}

void check_output_dir(const std::filesystem::path& dir, std::string_view flag) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (!error) {
    // A file of our own, made and removed: the one test that covers permissions, read-only mounts and
    // full inode tables alike.
    const std::filesystem::path probe = dir / fmt::format(".bend-write-check.{}", ::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      error = std::error_code(errno, std::generic_category());
    } else {
      ::close(fd);
      ::unlink(probe.c_str());
    }
  }
  if (error)
    throw IoError(
        fmt::format("{} {}: cannot write there ({}); nothing was run", flag, dir.string(), error.message()));
}

// Messages echo what the user typed (--arch, --dataset, file names): control characters in it (ESC, which
// starts terminal escape sequences, CR, ...) are printed as \xNN, never sent to the terminal raw.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out += c;
  }
  return out;
}

namespace {

std::string gigabytes(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

}  // namespace

void check_batch_fits_in_memory(const nn::ModelSpec& spec, std::int64_t train_rows, std::int64_t eval_rows) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return;
  const double memory = static_cast<double>(pages) * static_cast<double>(page_size);
  const auto values = [](const nn::SampleShape& shape) {
    double n = 1;
    for (const std::int64_t d : shape) n *= static_cast<double>(d);
    return n;
  };
  // Training keeps every layer's output for backward and makes a gradient of the same size: at least
  // twice the sum of the outputs per row. Evaluation holds a layer's input and output at a time.
  double per_row = values(spec.input), widest_pair = 0;
  nn::SampleShape in = spec.input;
  for (const nn::LayerShape& layer : spec.infer_shapes()) {
    per_row += values(layer.output);
    widest_pair = std::max(widest_pair, values(in) + values(layer.output));
    in = layer.output;
  }
  const double training = 2 * per_row * sizeof(float) * static_cast<double>(train_rows);
  const double evaluation = widest_pair * sizeof(float) * static_cast<double>(eval_rows);
  if (training > memory)
    throw ValueError(fmt::format(
        "{}: a training batch of {} rows needs at least {} for its activations and their gradients ({} "
        "per row), more than this machine's {} of memory; lower --batch or make the layers smaller",
        spec.arch_string(), train_rows, gigabytes(training), gigabytes(2 * per_row * sizeof(float)),
        gigabytes(memory)));
  if (evaluation > memory)
    throw ValueError(fmt::format(
        "{}: evaluating {} rows at a time needs at least {} for one layer's input and output, more than this "
        "machine's {} of memory; make the layers smaller",
        spec.arch_string(), eval_rows, gigabytes(evaluation), gigabytes(memory)));
}

bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }
bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

std::string dataset_flag_help() { return "dataset: " + dataset_names() + " (bend help datasets)"; }

std::string data_dir_flag_help() {
  return fmt::format(
      "where the dataset's IDX files are (default: the dataset's own directory, e.g. {} for mnist)",
      find_dataset("mnist").default_dir().string());
}

namespace {

std::string optimizer_help() {
  std::string out = "optimizer: ";
  for (const optim::OptimizerEntry& e : optim::optimizer_registry()) {
    std::string opts;
    for (const optim::OptimizerOption& o : e.options)
      opts += fmt::format("{}{}={:g}", opts.empty() ? "" : " ", o.name, o.default_value);
    out += fmt::format("{} ({}: {}); ", e.name, e.summary, opts);
  }
  return out.substr(0, out.size() - 2);
}

}  // namespace

std::string default_arch(const DatasetEntry& dataset) {
  return fmt::format("{}-256-128-{}", dataset.input_features(), dataset.num_classes);
}

std::string arch_flag_help() {
  return "the layers, tokens joined by '-': [input-]layer-...-output. Input: CxHxW (e.g. 1x28x28; default: "
         "the dataset's) or, as first token, a number N (a flat input: 784-256-128-10 is the MLP it always "
         "was). Layers: " +
         nn::layer_grammar_help() +
         ". --act goes after each conv and hidden dense layer, --norm before it. Example (LeNet-5): "
         "c6k5p2-p2-c16k5-p2-120-84-10. A preset name (" +
         nn::model_preset_names() + ") works too";
}

void add_mlp_flags(cxxopts::Options& options) {
  options.add_options("Model")(
      "model",
      "a preset model: " + nn::model_preset_names() +
          " (default: mlp, <inputs>-256-128-<classes>; lenet5: "
          "c6k5p2-p2-c16k5-p2-120-84-<classes>); gpt: a character-level "
          "GPT on a text (bend train and bend compare; see the language-model flags)",
      cxxopts::value<std::string>())("arch", arch_flag_help(), cxxopts::value<std::string>())(
      "act",
      "hidden activation: one name, or a comma list with one per hidden layer (each conv and hidden dense "
      "layer); 'swiglu' makes a hidden dense layer a SwiGLU block. Names: " +
          activation_names(),
      cxxopts::value<std::string>()->default_value("relu"))(
      "norm", "none | batch (BatchNorm1d/2d) | layer (LayerNorm), before each hidden activation",
      cxxopts::value<std::string>()->default_value("none"))(
      "init",
      "torch (PyTorch's Linear/Conv2d default) | auto (matched to the activation) | he | xavier | lecun",
      cxxopts::value<std::string>()->default_value("torch"))(
      "dropout", "dropout after each hidden dense layer's activation (default: the recipe's, 0 for most)",
      cxxopts::value<float>());
}

void add_training_flags(cxxopts::Options& options) {
  add_mlp_flags(options);
  options.add_options("Training")("dataset", dataset_flag_help(),
                                  cxxopts::value<std::string>()->default_value("mnist"))(
      "data-dir", data_dir_flag_help(), cxxopts::value<std::string>())(
      "opt", optimizer_help() + " (default: the recipe's)", cxxopts::value<std::string>())(
      "recipe",
      fmt::format("the defaults for what is not given: {} (bend help recipes)", train::recipe_names()),
      cxxopts::value<std::string>()->default_value("default"))(
      "lr", "learning rate (default: the recipe's for its optimizer and schedule, else the optimizer's)",
      cxxopts::value<double>())("momentum", "momentum (sgd, rmsprop)", cxxopts::value<double>())(
      "nesterov", "Nesterov momentum (sgd)")("weight-decay",
                                             "weight decay (default: the optimizer's; adamw 1e-2, others 0)",
                                             cxxopts::value<double>())(
      "opt-arg", "any other option of the optimizer as NAME=VALUE (e.g. alpha=0.9, centered=1); repeatable",
      cxxopts::value<std::vector<std::string>>())(
      "schedule", train::schedule_names() + " (default: the recipe's; none is PyTorch's plain loop)",
      cxxopts::value<std::string>())(
      "warmup", "linear learning-rate warm-up over this many steps (default: 0; one epoch's for --model vit)",
      cxxopts::value<std::int64_t>()->default_value("0"))("batch", "batch size (default: the recipe's)",
                                                          cxxopts::value<std::int64_t>())(
      "epochs", "total epochs; a resumed run counts the epochs already done (default: the recipe's)",
      cxxopts::value<std::int64_t>())("steps", "stop after this many optimizer steps (0: no limit)",
                                      cxxopts::value<std::int64_t>()->default_value("0"))(
      "seed", "random seed", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "threads", "threads (0: the cores this process may use, at most 8, or $BEND_NUM_THREADS)",
      cxxopts::value<int>()->default_value("0"))(
      "flush-denormal", "treat floats below 1.2e-38 as zero (faster Adam; torch.set_flush_denormal)")(
      "no-shuffle", "keep the training set in file order")(
      "standardize", "standardise inputs with the training set's mean and std")(
      "label-smoothing", "cross-entropy label smoothing", cxxopts::value<float>()->default_value("0"))(
      "train-limit", "use only the first N training images (0: all)",
      cxxopts::value<std::int64_t>()->default_value("0"))("test-limit",
                                                          "use only the first N test images (0: all)",
                                                          cxxopts::value<std::int64_t>()->default_value("0"));
  add_profile_flags(options);
}

// The --arch string of a preset for `dataset`; UsageError naming the presets when there is none.
std::string preset_arch(std::string_view name, const DatasetEntry& dataset) {
  const nn::ModelPreset* preset = nn::find_model_preset(name);
  if (preset == nullptr)
    throw UsageError(
        fmt::format("--model '{}': no such preset (presets: {})", name, nn::model_preset_names()));
  return preset->arch(dataset.input_shape, dataset.num_classes);
}

// --dataset, or, resuming without it, the checkpoint's dataset.
static std::string dataset_flag(const cxxopts::ParseResult& a, const train::CheckpointState* resumed) {
  if (a.count("dataset") || resumed == nullptr) return a["dataset"].as<std::string>();
  return resumed->dataset;
}

ModelFlags model_flags(const cxxopts::ParseResult& a, const train::CheckpointState* resumed) {
  ModelFlags m;
  const DatasetEntry* dataset = nullptr;
  try {
    dataset = &find_dataset(dataset_flag(a, resumed));
  } catch (const ValueError& e) {
    throw UsageError(fmt::format("--dataset: {}", e.what()));
  }
  if (a.count("model") && a.count("arch")) throw UsageError("give --model (a preset) or --arch, not both");
  // A resumed run continues the checkpoint's model: what the model flags leave out comes from it.
  std::optional<nn::ModelSpec> saved;
  if (resumed != nullptr && nn::ModelSpec::has_metadata(resumed->model_metadata)) {
    try {
      saved = nn::ModelSpec::from_metadata(resumed->model_metadata);
    } catch (const ValueError& e) {
      throw UsageError(fmt::format("--resume: {}", e.what()));
    }
  }
  std::string arch;
  if (a.count("arch"))
    arch = nn::find_model_preset(a["arch"].as<std::string>())
               ? preset_arch(a["arch"].as<std::string>(), *dataset)
               : a["arch"].as<std::string>();
  else if (saved && !a.count("model"))
    arch = saved->arch_string();
  else if (const train::Recipe& recipe = find_recipe_flag(a); !a.count("model") && !recipe.hidden.empty())
    arch = fmt::format("{}-{}-{}", dataset->input_features(), recipe.hidden, dataset->num_classes);
  else
    arch = preset_arch(a.count("model") ? a["model"].as<std::string>() : "mlp", *dataset);
  const nn::ModelPreset* preset =
      a.count("model") ? nn::find_model_preset(a["model"].as<std::string>()) : nullptr;
  m.act = saved && !a.count("act") ? saved->act_string()
          : !a.count("act") && preset != nullptr && !preset->default_act.empty()
              ? std::string(preset->default_act)
              : a["act"].as<std::string>();
  m.init = a["init"].as<std::string>();
  m.norm = saved && !a.count("norm") ? saved->norm : a["norm"].as<std::string>();
  // A recipe may bring dropout (--recipe long); --dropout wins.
  m.dropout = a.count("dropout") ? a["dropout"].as<float>()
              : saved            ? saved->dropout
                                 : find_recipe_flag(a).dropout;
  m.given = a.count("model") > 0 || a.count("arch") > 0 || a.count("act") > 0 || a.count("norm") > 0 ||
            a.count("dropout") > 0;
  try {
    m.spec = nn::ModelSpec::parse(arch, m.act, m.norm, m.dropout, &dataset->input_shape);
    m.scheme = nn::init::parse_scheme(m.init);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  m.arch = m.spec.arch_string();
  m.spec.check_input(dataset->input_shape, dataset->name);
  return m;
}

std::string model_summary(nn::Module& model, std::int64_t features) {
  if (auto* sequential = dynamic_cast<nn::Sequential*>(&model)) return sequential->summary({1, features});
  return fmt::format("{}\n{} parameters\n", model.describe(), model.num_parameters());
}

train::ModelSource ModelFlags::source() const { return train::model_source(spec, scheme); }

static std::string lower_case(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

const train::Recipe& find_recipe_flag(const cxxopts::ParseResult& a) {
  try {
    return train::find_recipe(a["recipe"].as<std::string>());
  } catch (const ValueError& e) {
    throw UsageError(fmt::format("--recipe: {}", e.what()));
  }
}

std::int64_t checkpoint_every_flag(const cxxopts::ParseResult& args) {
  const std::int64_t n = args["checkpoint-every"].as<std::int64_t>();
  if (n < 0) throw UsageError(fmt::format("--checkpoint-every must be >= 0 (0: once per epoch), got {}", n));
  return n;
}

std::optional<train::CheckpointState> read_resumed(const std::filesystem::path& resume) {
  if (resume.empty() || !std::filesystem::is_regular_file(resume)) return std::nullopt;
  return train::read_checkpoint(resume);
}

train::TrainConfig training_config(const cxxopts::ParseResult& a, const std::filesystem::path& resume) {
  const std::optional<train::CheckpointState> resumed = read_resumed(resume);
  return training_config(a, resumed ? &*resumed : nullptr);
}

train::TrainConfig training_config(const cxxopts::ParseResult& a, const train::CheckpointState* resumed) {
  train::TrainConfig c;
  // A resumed run continues as it was: what the flags leave out comes from the checkpoint (its dataset,
  // optimizer, schedule, batch, planned epochs, seed and input standardisation), not from the recipe.
  // The Trainer checks the rest.
  c.dataset = dataset_flag(a, resumed);
  if (a.count("data-dir")) c.data_dir = a["data-dir"].as<std::string>();
  const train::Recipe& recipe = find_recipe_flag(a);
  c.optimizer = a.count("opt") ? a["opt"].as<std::string>()
                : resumed      ? lower_case(resumed->optimizer_name)
                               : recipe.optimizer;
  c.schedule = a.count("schedule") ? a["schedule"].as<std::string>()
               : resumed           ? resumed->schedule
                                   : recipe.schedule;
  // Only the options given on the command line, and the recipe's lr where it applies: the rest take
  // the optimizer's defaults (or, resumed, the checkpoint's).
  if (a.count("lr"))
    c.optimizer_options["lr"] = a["lr"].as<double>();
  else if (const double lr = recipe.lr_for(c.optimizer, c.schedule); lr > 0 && !resumed)
    c.optimizer_options["lr"] = lr;
  if (a.count("momentum")) c.optimizer_options["momentum"] = a["momentum"].as<double>();
  if (a.count("nesterov")) c.optimizer_options["nesterov"] = 1.0;
  if (a.count("weight-decay")) c.optimizer_options["weight_decay"] = a["weight-decay"].as<double>();
  // The options that have a flag of their own (recipe values, like its lr, may be overridden).
  static constexpr std::pair<std::string_view, const char*> kOptionFlags[] = {
      {"lr", "lr"}, {"momentum", "momentum"}, {"nesterov", "nesterov"}, {"weight_decay", "weight-decay"}};
  std::set<std::string> given_by_opt_arg;
  if (a.count("opt-arg"))
    for (const std::string& item : a["opt-arg"].as<std::vector<std::string>>()) {
      const auto eq = item.find('=');
      char* end = nullptr;
      const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
      const double v = std::strtod(value.c_str(), &end);
      if (eq == std::string::npos || eq == 0 || value.empty() || *end != '\0')
        throw UsageError(fmt::format("--opt-arg '{}': expected NAME=NUMBER, e.g. alpha=0.9", item));
      // One value per option: a key given twice, or also by its own flag (--momentum), is not guessed at.
      const std::string key = item.substr(0, eq);
      const auto flag = std::find_if(std::begin(kOptionFlags), std::end(kOptionFlags),
                                     [&](const auto& f) { return f.first == key && a.count(f.second); });
      if (flag != std::end(kOptionFlags) || !given_by_opt_arg.insert(key).second)
        throw UsageError(fmt::format("--opt-arg '{}': {} is already set by {}; give each option once", item,
                                     key,
                                     flag != std::end(kOptionFlags) ? "--" + std::string(flag->second)
                                                                    : std::string("an earlier --opt-arg")));
      c.optimizer_options[key] = v;
    }
  // --warmup, else the checkpoint's, else the model preset's warm-up in epochs (one for vit).
  c.warmup_steps = a.count("warmup")                  ? a["warmup"].as<std::int64_t>()
                   : resumed && resumed->warmup_steps ? *resumed->warmup_steps
                                                      : 0;
  if (const nn::ModelPreset* preset =
          a.count("model") ? nn::find_model_preset(a["model"].as<std::string>()) : nullptr;
      preset && !a.count("warmup") && !resumed)
    c.warmup_epochs = preset->default_warmup_epochs;
  c.batch = a.count("batch") ? a["batch"].as<std::int64_t>() : resumed ? resumed->batch : recipe.batch;
  c.epochs = a.count("epochs")                        ? a["epochs"].as<std::int64_t>()
             : resumed && resumed->planned_epochs > 0 ? resumed->planned_epochs
                                                      : recipe.epochs;
  c.max_steps = a["steps"].as<std::int64_t>();
  c.seed = a.count("seed") || !resumed ? a["seed"].as<std::uint64_t>() : resumed->seed;
  c.threads = a["threads"].as<int>();
  c.flush_denormal = a.count("flush-denormal") > 0;
  c.shuffle = a.count("no-shuffle") == 0;
  c.standardize = a.count("standardize") > 0 || (resumed && resumed->normalization.has_value());
  c.label_smoothing = a["label-smoothing"].as<float>();
  c.train_limit = a["train-limit"].as<std::int64_t>();
  c.test_limit = a["test-limit"].as<std::int64_t>();
  try {
    c.validate();
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  return c;
}

bool parse_or_help(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out) {
  options.add_options()("h,help", "show this help");
  out = options.parse(argc, argv);
  if (out.count("help")) {
    fmt::print("{}\n", options.help());
    return false;
  }
  if (!out.unmatched().empty())
    throw UsageError(fmt::format("unexpected argument '{}' (see --help)", out.unmatched().front()));
  return true;
}

}  // namespace bend::cli
