// bend export: a saved model out of bend, as an ONNX graph (--onnx) or a digit-drawing web page (--web).
#include <fmt/format.h>

#include "bend/nn/serialize.hpp"
#include "cli.hpp"
#include "web_page.hpp"
#if BEND_HAVE_ONNX
#include "bend/onnx/onnx.hpp"
#endif

namespace bend::cli {

int run_export(int argc, char** argv) {
  cxxopts::Options options(
      "bend export",
      "Write a saved model in another format: an ONNX graph (--onnx), or a web page where a "
      "person draws a digit and the model reads it (--web).");
  options.add_options()("model", "the model (.safetensors, from bend train --save)",
                        cxxopts::value<std::string>())(
      "onnx",
      "write the model as ONNX (opset 17, dynamic batch): a classifier takes \"input\" (raw pixels in "
      "[0, 1]) and gives \"logits\" and \"probabilities\"; a GPT (--model gpt) takes \"idx\" (int64 token "
      "ids [batch, T], T <= block size) and gives \"logits\" [batch, T, vocab]",
      cxxopts::value<std::string>())(
      "web",
      "write a static web page into DIR: draw a digit with the mouse or a finger, see the ten probabilities "
      "(the model as DIR/model.onnx, run by onnxruntime-web; serve DIR with any static file server)",
      cxxopts::value<std::string>());
  options.parse_positional({"model"});
  options.positional_help("MODEL");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (!args.count("model")) throw UsageError("give a MODEL (.safetensors; see --help)");
  if (!args.count("onnx") && !args.count("web"))
    throw UsageError("give an output: --onnx FILE or --web DIR (see --help)");
  const std::filesystem::path model = args["model"].as<std::string>();
  if (!std::filesystem::exists(model))
    throw UsageError(fmt::format("{}: no such file", printable(model.string())));
#if BEND_HAVE_ONNX
  if (args.count("onnx")) {
    const std::filesystem::path out = args["onnx"].as<std::string>();
    onnx::export_file(model, out);
    fmt::print("wrote {} (ONNX opset {})\n", printable(out.string()), onnx::kOpset);
  }
  if (args.count("web")) {
    const std::filesystem::path dir = args["web"].as<std::string>();
    write_web_page(nn::load_model(model), model, dir);  // checks the model takes a 28x28 image first
    onnx::export_file(model, dir / kWebModelFile);
    fmt::print(
        "wrote the page into {}; serve it, e.g. python3 -m http.server -d {}, and open "
        "http://localhost:8000/\n",
        printable(dir.string()), printable(dir.string()));
  }
  return 0;
#else
  throw Error("this bend was built without ONNX (install libonnx-dev and libprotobuf-dev, then reconfigure)");
#endif
}

}  // namespace bend::cli
