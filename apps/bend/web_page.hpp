#pragma once
// `bend export MODEL --web DIR`: the digit-drawing page as static files. A person draws on a canvas with the
// mouse or a finger; MNIST's preprocessing (tools/web/page/preprocess.js) makes the 28x28 input, and
// onnxruntime-web runs the exported model in WebAssembly, with the ten probabilities shown as bars.
#include <filesystem>
#include <span>
#include <string_view>

#include "bend/nn/serialize.hpp"

namespace bend::cli {

struct WebPageFile {
  std::string_view name;  // "index.html", "draw.js", ...
  std::string_view text;
};
// The page's files (tools/web/page), compiled in by cmake/embed_web_page.cmake.
std::span<const WebPageFile> web_page_files();
// Where `npm ci --ignore-scripts --prefix tools/web` puts onnxruntime-web's dist/ in the source tree.
std::string_view web_runtime_default_dir();
// onnxruntime-web's files the page loads: the ES module, its WebAssembly glue and the WebAssembly.
std::span<const std::string_view> web_runtime_files();
// The directory those are read from: $BEND_ONNXRUNTIME_WEB when set, else web_runtime_default_dir().
std::filesystem::path web_runtime_dir();

// The model's file in DIR, written by the ONNX exporter (bend::onnx::export_file) after write_web_page. Its
// input is raw pixels in [0, 1] (a --standardize model standardises them in its first nodes); the page reads
// its "probabilities" output.
inline constexpr std::string_view kWebModelFile = "model.onnx";

// Creates DIR and writes index.html, draw.js, preprocess.js, style.css, model.json (the input shape, the
// class names, the normalisation the model's graph applies, what the page says about the model) and
// onnxruntime-web's files.
// `loaded` must take one 28x28 grey image (784 or 1x28x28); ValueError otherwise, IoError naming what is
// missing when onnxruntime-web's files are not there (and how to install them) or a file cannot be written.
void write_web_page(const nn::LoadedModel& loaded, const std::filesystem::path& model_file,
                    const std::filesystem::path& dir);

}  // namespace bend::cli
