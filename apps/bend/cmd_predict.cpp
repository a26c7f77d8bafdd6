// bend predict: the top-3 classes of one image, a test image by index (drawn in the terminal) or a PGM.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/data/pgm.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/plot/terminal_image.hpp"
#include "cli.hpp"

namespace bend::cli {

nn::LoadedModel load_model_from_args(const cxxopts::ParseResult& args);
void add_model_flags(cxxopts::Options& options);
TensorDataset test_set_from_args(const cxxopts::ParseResult& args, const nn::Metadata& metadata);
void apply_saved_normalization(Tensor& images, const nn::Metadata& metadata,
                               const std::filesystem::path& model);

int run_predict(int argc, char** argv) {
  cxxopts::Options options("bend predict", "Classify one image with a saved model.");
  add_model_flags(options);
  options.add_options("Input")("index", "a test-set image by index", cxxopts::value<std::int64_t>())(
      "image", "a PGM file (P5 or P2; resized to 28x28; dark-on-light drawings are inverted)",
      cxxopts::value<std::string>())(
      "save-pgm",
      "also write the image as a PGM file (e.g. --index 7 --save-pgm my-digit.pgm, to edit or draw over)",
      cxxopts::value<std::string>());
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (args.count("index") == args.count("image"))
    throw UsageError("give exactly one of --index N or --image FILE.pgm");
  nn::LoadedModel loaded = load_model_from_args(args);
  // An image model knows its height and width; a flat one is taken to be square.
  const nn::SampleShape& sample = loaded.spec.input;
  const std::int64_t features = loaded.spec.input_features();
  const std::int64_t side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(features))));
  const std::int64_t height = sample.size() == 3 ? sample[1] : side,
                     width = sample.size() == 3 ? sample[2] : side;
  Tensor image;
  std::optional<std::int32_t> label;
  if (args.count("index")) {
    const TensorDataset test = test_set_from_args(args, loaded.metadata);
    const std::int64_t index = args["index"].as<std::int64_t>();
    if (index < 0 || index >= test.size())
      throw UsageError(fmt::format("--index {}: the test set has images 0..{}", index, test.size() - 1));
    image = Tensor::from(std::span<const float>(test.images.data() + index * test.features(),
                                                static_cast<std::size_t>(test.features())),
                         {1, test.features()});
    label = test.labels[static_cast<std::size_t>(index)];
  } else {
    if (height * width != features)
      throw UsageError(
          fmt::format("the model takes {} inputs, not one grey image", nn::sample_shape_string(sample)));
    image = read_pgm(args["image"].as<std::string>(), height, width);
  }
  if (image.numel() != height * width)
    throw UsageError(fmt::format("the model takes {} inputs but the test images have {} pixels",
                                 nn::sample_shape_string(sample), image.numel()));
  if (args.count("save-pgm")) {
    const std::string pgm = args["save-pgm"].as<std::string>();
    write_pgm(pgm, image.data(), height, width);
    fmt::print("image written to {}\n", pgm);
  }
  fmt::print("{}", render_image_for_stdout(image.data(), height, width));
  Tensor input = image.clone();
  apply_saved_normalization(input, loaded.metadata, args["model"].as<std::string>());
  NoGradGuard no_grad;
  loaded.model.eval();
  Tensor probs = softmax(loaded.model(input), 1);
  std::vector<int> order(static_cast<std::size_t>(probs.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + std::min<std::size_t>(3, order.size()), order.end(),
                    [&](int a, int b) { return probs.data()[a] > probs.data()[b]; });
  if (label) fmt::print("label: {}\n", *label);
  for (std::size_t k = 0; k < std::min<std::size_t>(3, order.size()); ++k)
    fmt::print("{}. class {}  {:6.2f}%\n", k + 1, order[k], 100 * probs.data()[order[k]]);
  return 0;
}

}  // namespace bend::cli
