// bend info: what a saved model or checkpoint holds.
#include <fmt/format.h>

#include "bend/nn/model_presets.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/train/gpt_source.hpp"
#include "cli.hpp"

namespace bend::cli {

std::optional<nn::ModelSpec> fallback_spec_from_args(const cxxopts::ParseResult& args);

int run_info(int argc, char** argv) {
  cxxopts::Options options("bend info",
                           "Show the architecture, parameters and training state of a model file.");
  options.add_options()("file", "model or checkpoint (.safetensors)", cxxopts::value<std::string>());
  options.add_options("Model")("arch",
                               "architecture, for files without bend metadata: a preset (" +
                                   nn::model_preset_names() + ") or the --arch grammar of bend train",
                               cxxopts::value<std::string>())("act", "hidden activation(s), with --arch",
                                                              cxxopts::value<std::string>())(
      "norm", "none | batch | layer, with --arch", cxxopts::value<std::string>())(
      "dataset", "the dataset whose input shape and classes a preset takes (default: mnist)",
      cxxopts::value<std::string>());
  options.parse_positional({"file"});
  options.positional_help("FILE");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (!args.count("file")) throw UsageError("give a FILE (see --help)");
  const std::filesystem::path path = args["file"].as<std::string>();
  if (!std::filesystem::exists(path)) throw UsageError(fmt::format("{}: no such file", path.string()));
  nn::Metadata metadata;
  const nn::NamedTensors tensors = nn::load_tensors(path, &metadata);
  const bool checkpoint = metadata.contains("bend.checkpoint");
  fmt::print("{}: {}\n", path.string(), checkpoint ? "bend checkpoint" : "model");
  std::int64_t model_params = 0, other = 0;
  for (const auto& [name, t] : tensors) (name.starts_with("optim.") ? other : model_params) += t.numel();
  const std::optional<nn::ModelSpec> fallback = fallback_spec_from_args(args);
  if (train::is_gpt(metadata)) {
    const nn::GPTConfig g = train::gpt_config_from(metadata, path);
    fmt::print(
        "GPT (bend train --model gpt): {} layers, {} heads, n_embd {}, block {}, {}{}{}, vocabulary of {} "
        "{} (sample with bend generate --model {})\n",
        g.n_layer, g.n_head, g.n_embd, g.block_size, g.activation, g.bias ? "" : ", no bias",
        g.head == "adaptive" ? fmt::format(", adaptive head (cutoffs {})", fmt::join(g.cutoffs, ",")) : "",
        g.vocab_size, train::vocab_options_from(metadata, path).is_word() ? "words" : "characters",
        path.string());
  } else if (nn::ModelSpec::has_metadata(metadata) || fallback) {
    nn::LoadedModel loaded = nn::load_model(path, fallback);
    fmt::print("architecture: {}  activations: {}  norm: {}  dropout: {}{}\n", loaded.spec.arch_string(),
               loaded.spec.act_string(), loaded.spec.norm, loaded.spec.dropout,
               nn::ModelSpec::has_metadata(metadata) ? "" : " (from --arch)");
    fmt::print("{}", loaded.model.summary({1, loaded.spec.input_features()}));
  } else {
    fmt::print("no bend metadata (give --arch/--act/--norm to info, eval or predict with it)\n");
  }
  fmt::print("tensors:\n");
  for (const auto& [name, t] : tensors) fmt::print("  {:<28} {}\n", name, t.shape().str());
  fmt::print("model parameters: {}{}\n", model_params,
             other ? fmt::format(", optimizer state values: {}", other) : "");
  auto show = [&](const char* key, const char* label) {
    if (auto it = metadata.find(key); it != metadata.end()) fmt::print("{}: {}\n", label, it->second);
  };
  show("bend.dataset", "dataset");
  show("bend.optimizer", "optimizer");
  show("bend.epochs", "epochs done");
  show("bend.steps", "optimizer steps");
  show("bend.batch_in_epoch", "batches into the next epoch");
  show("bend.test_accuracy", "test accuracy");
  show("bend.val_loss", "val loss");
  if (auto it = metadata.find("bend.history"); it != metadata.end() && !it->second.empty()) {
    fmt::print("history (epoch: test accuracy):");
    std::string_view rest = it->second;
    while (!rest.empty()) {
      const auto end = rest.find(';');
      const std::string item(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      long long epoch = 0;
      char f[4][64];
      if (std::sscanf(item.c_str(), "%lld %63s %63s %63s %63s", &epoch, f[0], f[1], f[2], f[3]) == 5)
        fmt::print(" {}: {:.2f}%", epoch, 100 * std::strtod(f[3], nullptr));
    }
    fmt::print("\n");
  }
  return 0;
}

}  // namespace bend::cli
