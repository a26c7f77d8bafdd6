// bend import: an ONNX graph that is a chain of ops bend has, as a bend model file.
#include <fmt/format.h>

#include "bend/data/registry.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/train/checkpoint.hpp"
#include "cli.hpp"
#if BEND_HAVE_ONNX
#include "bend/onnx/onnx.hpp"
#endif

namespace bend::cli {

int run_import(int argc, char** argv) {
  cxxopts::Options options(
      "bend import",
      "Read an ONNX model (a chain of ops bend has: what torch.onnx.export writes for an "
      "nn.Sequential MLP or CNN, and what bend export writes) and save it as a bend model.");
  options.add_options()("file", "the ONNX model (.onnx)", cxxopts::value<std::string>())(
      "save", "the bend model to write (.safetensors)", cxxopts::value<std::string>())(
      "dataset", "the dataset the model is for: its input must take the dataset's samples (default: mnist)",
      cxxopts::value<std::string>()->default_value("mnist"));
  options.parse_positional({"file"});
  options.positional_help("MODEL.onnx");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (!args.count("file")) throw UsageError("give an ONNX file (see --help)");
  if (!args.count("save")) throw UsageError("give the output: --save MODEL.safetensors (see --help)");
  const std::filesystem::path path = args["file"].as<std::string>();
  if (!std::filesystem::exists(path))
    throw UsageError(fmt::format("{}: no such file", printable(path.string())));
  const DatasetEntry& dataset = find_dataset(args["dataset"].as<std::string>());
#if BEND_HAVE_ONNX
  const onnx::ImportedModel imported = onnx::import_file(path);
  imported.spec.check_input(dataset.input_shape, dataset.name);
  if (imported.spec.outputs() != dataset.num_classes)
    throw ValueError(fmt::format("{}: the model has {} outputs, {} has {} classes", printable(path.string()),
                                 imported.spec.outputs(), dataset.name, dataset.num_classes));
  Rng rng(0);
  nn::Sequential model = nn::build_model(imported.spec, nn::init::Scheme{}, rng);
  model.load_state_dict(imported.state);
  nn::Metadata extra;
  extra["bend.dataset"] = dataset.name;
  extra["bend.imported_from"] = imported.producer.empty() ? "onnx" : imported.producer;
  if (imported.normalization) train::write_normalization(extra, *imported.normalization);
  const std::filesystem::path out = args["save"].as<std::string>();
  nn::save_model(out, model, imported.spec, extra);
  fmt::print("{} (opset {}, from {}) -> {}: {}, activations {}\n", printable(path.string()), imported.opset,
             imported.producer.empty() ? "?" : imported.producer, printable(out.string()),
             imported.spec.arch_string(), imported.spec.act_string());
  return 0;
#else
  (void)dataset;
  throw Error("this bend was built without ONNX (install libonnx-dev and libprotobuf-dev, then reconfigure)");
#endif
}

}  // namespace bend::cli
