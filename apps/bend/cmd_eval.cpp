// bend eval: loss, accuracy, per-class accuracy and confusion matrix of a saved model; optionally one
// row per test sample with its class probabilities.
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/data/registry.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/train/metrics.hpp"
#include "cli.hpp"

namespace bend::cli {

namespace {

// A usage error listing the registered datasets when `name` is not one of them.
void check_dataset_name(const std::string& name) {
  try {
    find_dataset(name);
  } catch (const ValueError& e) {
    throw UsageError(fmt::format("--dataset: {}", e.what()));
  }
}

}  // namespace

// The spec of --arch (a preset name or the grammar) --act --norm --dropout, for a file without bend
// metadata; nullopt without --arch. The input shape and class count of presets come from --dataset (mnist
// by default).
std::optional<nn::ModelSpec> fallback_spec_from_args(const cxxopts::ParseResult& args) {
  if (!args.count("arch")) return std::nullopt;
  const DatasetEntry& dataset =
      find_dataset(args.count("dataset") ? args["dataset"].as<std::string>() : "mnist");
  std::string arch = args["arch"].as<std::string>();
  std::string act = "relu";
  if (const nn::ModelPreset* preset = nn::find_model_preset(arch)) {
    arch = preset->arch(dataset.input_shape, dataset.num_classes);
    if (!preset->default_act.empty()) act = std::string(preset->default_act);
  }
  try {
    return nn::ModelSpec::parse(arch, args.count("act") ? args["act"].as<std::string>() : act,
                                args.count("norm") ? args["norm"].as<std::string>() : "none", 0.0f,
                                &dataset.input_shape);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
}

// A NaN or infinite weight, or a negative BatchNorm running variance, makes every output NaN: eval printed
// "loss nan accuracy 9.80%" and predict "class 0 nan %", both exiting 0. Such a file is refused.
void refuse_non_finite_values(const nn::Module& model, const std::filesystem::path& path) {
  for (const auto& [name, tensor] : model.state_dict()) {
    const float* values = tensor.data();
    const bool variance = name.ends_with("running_var");
    for (std::int64_t i = 0; i < tensor.numel(); ++i) {
      if (!std::isfinite(values[i]))
        throw IoError(fmt::format("{}: tensor '{}' holds {} at index {}; the model cannot be evaluated",
                                  path.string(), name, values[i], i));
      if (variance && values[i] < 0)
        throw IoError(
            fmt::format("{}: tensor '{}' holds a negative variance ({}) at index {}; the model "
                        "cannot be evaluated",
                        path.string(), name, values[i], i));
    }
  }
}

// Shared by eval/predict: the model from a file, with --arch/--act/--norm for files without metadata.
nn::LoadedModel load_model_from_args(const cxxopts::ParseResult& args) {
  if (!args.count("model")) throw UsageError("--model FILE is required");
  // Flags are checked before any file is read.
  if (args.count("dataset")) check_dataset_name(args["dataset"].as<std::string>());
  const std::filesystem::path path = args["model"].as<std::string>();
  const std::optional<nn::ModelSpec> fallback = fallback_spec_from_args(args);
  if (!std::filesystem::exists(path))
    throw UsageError(fmt::format("--model {}: no such file", path.string()));
  nn::LoadedModel loaded = nn::load_model(path, fallback);
  refuse_non_finite_values(loaded.model, path);
  return loaded;
}

void add_model_flags(cxxopts::Options& options) {
  options.add_options("Model")("model", "the model or checkpoint (.safetensors)",
                               cxxopts::value<std::string>())(
      "arch",
      "architecture, for files without bend metadata (e.g. from PyTorch): a preset (" +
          nn::model_preset_names() + ") or the --arch grammar of bend train (bend help train)",
      cxxopts::value<std::string>())("act", "hidden activation(s), with --arch",
                                     cxxopts::value<std::string>())(
      "norm", "none | batch | layer, with --arch", cxxopts::value<std::string>())(
      "dataset", dataset_names() + " (default: the one the model was trained on)",
      cxxopts::value<std::string>())("data-dir", "where the IDX files are (default: the dataset's own place)",
                                     cxxopts::value<std::string>());
}

TensorDataset test_set_from_args(const cxxopts::ParseResult& args, const nn::Metadata& metadata) {
  std::string dataset = "mnist";
  if (auto it = metadata.find("bend.dataset"); it != metadata.end()) dataset = it->second;
  if (args.count("dataset")) dataset = args["dataset"].as<std::string>();
  check_dataset_name(dataset);
  const std::filesystem::path dir = args.count("data-dir")
                                        ? std::filesystem::path(args["data-dir"].as<std::string>())
                                        : std::filesystem::path();
  return load_dataset(dataset, dir, Split::Test);
}

ModelAndTestSet load_model_and_test_set(const cxxopts::ParseResult& args) {
  nn::LoadedModel loaded = load_model_from_args(args);
  TensorDataset test = test_set_from_args(args, loaded.metadata);
  apply_saved_normalization(test.images, loaded.metadata, args["model"].as<std::string>());
  if (test.features() != loaded.spec.input_features())
    throw UsageError(fmt::format("the model takes {} inputs but the images have {} pixels",
                                 nn::sample_shape_string(loaded.spec.input), test.features()));
  return {std::move(loaded), std::move(test)};
}

int run_eval(int argc, char** argv) {
  cxxopts::Options options("bend eval", "Evaluate a saved model on the test set.");
  add_model_flags(options);
  options.add_options("Output")(
      "predictions",
      "write index,label,predicted and one probability per class (p0, p1, ...) per test sample to FILE.csv",
      cxxopts::value<std::string>())("json", "machine-readable output");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  auto [loaded, test] = load_model_and_test_set(args);
  if (loaded.spec.outputs() != test.num_classes)
    throw ValueError(fmt::format("{}: the model has {} outputs but {} has {} classes",
                                 args["model"].as<std::string>(), loaded.spec.outputs(), test.name,
                                 test.num_classes));
  const bool want_probs = args.count("predictions") > 0;
  const train::EvalResult r = train::evaluate(loaded.model, test, 1000, want_probs);
  const int c = r.num_classes;
  if (want_probs) {
    std::string csv = "index,label,predicted";
    for (int k = 0; k < c; ++k) csv += fmt::format(",p{}", k);
    csv += '\n';
    for (std::int64_t i = 0; i < r.samples; ++i) {
      csv += fmt::format("{},{},{}", i, test.labels[static_cast<std::size_t>(i)],
                         r.predictions[static_cast<std::size_t>(i)]);
      for (int k = 0; k < c; ++k)
        csv += fmt::format(",{:.9g}", r.probabilities[static_cast<std::size_t>(i * c + k)]);
      csv += '\n';
    }
    write_file_atomically(args["predictions"].as<std::string>(), csv);
  }
  if (args.count("json")) {
    nlohmann::json j = {{"samples", r.samples}, {"loss", r.loss}, {"accuracy", r.accuracy}};
    std::vector<double> per_class;
    std::vector<std::vector<std::int64_t>> confusion;
    for (int t = 0; t < c; ++t) {
      per_class.push_back(r.class_accuracy(t));
      confusion.emplace_back(r.confusion.begin() + t * c, r.confusion.begin() + (t + 1) * c);
    }
    j["class_accuracy"] = per_class;
    j["confusion"] = confusion;
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("model {} ({}, {}{})\n", args["model"].as<std::string>(), loaded.spec.arch_string(),
             loaded.spec.act_string(), loaded.spec.norm == "none" ? "" : ", norm " + loaded.spec.norm);
  fmt::print("test: {} images  loss {:.4f}  accuracy {:.2f}%\n\n", r.samples, r.loss, 100 * r.accuracy);
  fmt::print("per-class accuracy:\n");
  for (int t = 0; t < c; ++t) fmt::print("  {}: {:6.2f}%\n", t, 100 * r.class_accuracy(t));
  fmt::print("\nconfusion matrix (rows: true class, columns: predicted):\n      ");
  for (int p = 0; p < c; ++p) fmt::print("{:>6}", p);
  fmt::print("\n");
  for (int t = 0; t < c; ++t) {
    fmt::print("  {:>3} ", t);
    for (int p = 0; p < c; ++p) fmt::print("{:>6}", r.confusion[static_cast<std::size_t>(t * c + p)]);
    fmt::print("\n");
  }
  if (want_probs) fmt::print("\npredictions written to {}\n", args["predictions"].as<std::string>());
  return 0;
}

}  // namespace bend::cli
