// bend export: a saved model out of bend, as an ONNX graph (--onnx).
#include <fmt/format.h>

#include "cli.hpp"
#if BEND_HAVE_ONNX
#include "bend/onnx/onnx.hpp"
#endif

namespace bend::cli {

int run_export(int argc, char** argv) {
  cxxopts::Options options("bend export", "Write a saved model in another format: an ONNX graph (--onnx).");
  options.add_options()("model", "the model (.safetensors, from bend train --save)",
                        cxxopts::value<std::string>())(
      "onnx",
      "write the model as ONNX (opset 17, dynamic batch): input \"input\" (raw pixels in [0, 1]), outputs "
      "\"logits\" and \"probabilities\"",
      cxxopts::value<std::string>());
  options.parse_positional({"model"});
  options.positional_help("MODEL");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (!args.count("model")) throw UsageError("give a MODEL (.safetensors; see --help)");
  if (!args.count("onnx")) throw UsageError("give an output: --onnx FILE (see --help)");
  const std::filesystem::path model = args["model"].as<std::string>();
  if (!std::filesystem::exists(model))
    throw UsageError(fmt::format("{}: no such file", printable(model.string())));
#if BEND_HAVE_ONNX
  const std::filesystem::path out = args["onnx"].as<std::string>();
  onnx::export_file(model, out);
  fmt::print("wrote {} (ONNX opset {})\n", printable(out.string()), onnx::kOpset);
  return 0;
#else
  throw Error("this bend was built without ONNX (install libonnx-dev and libprotobuf-dev, then reconfigure)");
#endif
}

}  // namespace bend::cli
