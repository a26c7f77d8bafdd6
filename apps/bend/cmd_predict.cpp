// bend predict: the top-3 classes of one image, a test image by index (drawn in the terminal) or a PGM;
// or, with --batch N, the class of every test image, N at a time (accuracy, labels, and with --time the
// throughput and single-image latency of the inference path).
#include <algorithm>
#include <chrono>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/autograd.hpp"
#include "bend/data/pgm.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "bend/plot/terminal_image.hpp"
#include "bend/train/predictor.hpp"
#include "cli.hpp"

namespace bend::cli {

namespace predict_batches {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double percentile_of(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(fraction * values.size()))];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every test image (or the first --limit), --batch at a time: accuracy, optionally the labels, and with
// --time the throughput of whole passes and the latency of single-image calls.
int run(const cxxopts::ParseResult& args) {
  const std::int64_t batch = args["batch"].as<std::int64_t>();
  if (batch <= 0) throw UsageError(fmt::format("--batch must be positive, got {}", batch));
  if (args.count("threads")) {
    const int threads = args["threads"].as<int>();
    if (threads < 0 || threads > kMaxThreads)
      throw UsageError(fmt::format("--threads must be in 0..{}, got {}", kMaxThreads, threads));
    set_num_threads(threads);
  }
  const std::int64_t repeat = args["repeat"].as<std::int64_t>();
  const std::int64_t latency_calls = args["latency-calls"].as<std::int64_t>();
  if (repeat <= 0 || latency_calls <= 0)
    throw UsageError(
        fmt::format("--repeat ({}) and --latency-calls ({}) must be positive", repeat, latency_calls));
  auto [loaded, test] = load_model_and_test_set(args);
  std::int64_t count = test.size();
  if (args.count("limit")) {
    const std::int64_t limit = args["limit"].as<std::int64_t>();
    if (limit <= 0) throw UsageError(fmt::format("--limit must be positive, got {}", limit));
    count = std::min(count, limit);
  }
  const float* images = test.images.data();
  const std::int64_t features = test.features();

  train::Predictor predictor(loaded.model, features, batch);
  std::vector<std::int32_t> predicted(static_cast<std::size_t>(count));
  predictor.classify(images, count, predicted.data());  // also the warm-up of the timed passes
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < count; ++i)
    correct += predicted[static_cast<std::size_t>(i)] == test.labels[static_cast<std::size_t>(i)];
  const double accuracy = static_cast<double>(correct) / static_cast<double>(count);

  if (args.count("labels")) {
    std::string lines;
    for (std::int32_t label : predicted) lines += fmt::format("{}\n", label);
    const std::string out = args["labels"].as<std::string>();
    if (out == "-")
      fmt::print("{}", lines);
    else
      write_file_atomically(out, lines);
  }

  nlohmann::json j = {{"model", args["model"].as<std::string>()},
                      {"images", count},
                      {"batch", batch},
                      {"threads", num_threads()},
                      {"correct", correct},
                      {"accuracy", accuracy}};
  const bool timed = args.count("time") > 0;
  if (timed) {
    // Throughput: whole passes over the images at --batch; the median pass.
    std::vector<double> pass_seconds;
    for (std::int64_t r = 0; r < repeat; ++r) {
      const auto start = std::chrono::steady_clock::now();
      predictor.classify(images, count, predicted.data());
      pass_seconds.push_back(seconds_since(start));
    }
    const double pass = median_of(pass_seconds);
    // Latency: one image per call, through images in turn, after a warm-up; the model stays loaded.
    train::Predictor single(loaded.model, features, 1);
    std::int32_t label = 0;
    const std::int64_t warmup = std::min<std::int64_t>(100, latency_calls);
    for (std::int64_t i = 0; i < warmup; ++i) single.classify(images + (i % count) * features, 1, &label);
    std::vector<double> call_seconds(static_cast<std::size_t>(latency_calls));
    for (std::int64_t i = 0; i < latency_calls; ++i) {
      const auto start = std::chrono::steady_clock::now();
      single.classify(images + (i % count) * features, 1, &label);
      call_seconds[static_cast<std::size_t>(i)] = seconds_since(start);
    }
    j["passes"] = repeat;
    j["pass_seconds_median"] = pass;
    j["images_per_second"] = static_cast<double>(count) / pass;
    j["latency_calls"] = latency_calls;
    j["latency_us_median"] = 1e6 * median_of(call_seconds);
    j["latency_us_p90"] = 1e6 * percentile_of(call_seconds, 0.9);
  }
  if (args.count("json")) {
    fmt::print("{}\n", j.dump());
    return 0;
  }
  if (args.count("labels") && args["labels"].as<std::string>() == "-") return 0;
  fmt::print("{} test images, batch {}: accuracy {:.2f}% ({}/{})\n", count, batch, 100 * accuracy, correct,
             count);
  if (args.count("labels")) fmt::print("labels written to {}\n", printable(args["labels"].as<std::string>()));
  if (timed)
    fmt::print(
        "throughput {:.0f} images/s (median of {} passes, {} thread{}); single-image latency median "
        "{:.1f} us, p90 {:.1f} us ({} calls)\n",
        j["images_per_second"].get<double>(), repeat, num_threads(), num_threads() == 1 ? "" : "s",
        j["latency_us_median"].get<double>(), j["latency_us_p90"].get<double>(), latency_calls);
  return 0;
}

}  // namespace predict_batches

int run_predict(int argc, char** argv) {
  cxxopts::Options options("bend predict",
                           "Classify one image with a saved model, or every test image with --batch N.");
  add_model_flags(options);
  options.add_options("Input")("index", "a test-set image by index", cxxopts::value<std::int64_t>())(
      "image", "a PGM file (P5 or P2; resized to 28x28; dark-on-light drawings are inverted)",
      cxxopts::value<std::string>())(
      "save-pgm",
      "also write the image as a PGM file (e.g. --index 7 --save-pgm my-digit.pgm, to edit or draw over)",
      cxxopts::value<std::string>());
  options.add_options("Batches")(
      "batch", "classify every test image, N at a time (eval mode, no tape); prints the accuracy",
      cxxopts::value<std::int64_t>())("limit", "with --batch: the first N test images only",
                                      cxxopts::value<std::int64_t>())(
      "labels", "with --batch: write the predicted class of each image, one per line, to FILE (- : stdout)",
      cxxopts::value<std::string>())(
      "time",
      "with --batch: also time the inference: throughput of whole passes at --batch (images/s) and the "
      "latency of single-image calls (median, p90)")("repeat",
                                                     "with --time: timed passes (the median is reported)",
                                                     cxxopts::value<std::int64_t>()->default_value("5"))(
      "latency-calls", "with --time: timed single-image calls",
      cxxopts::value<std::int64_t>()->default_value("1000"))(
      "threads", "with --batch: threads (0: the cores this process may use, at most 8, or $BEND_NUM_THREADS)",
      cxxopts::value<int>())("json", "with --batch: machine-readable output");
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  if (args.count("batch")) {
    if (args.count("index") || args.count("image") || args.count("save-pgm"))
      throw UsageError(
          "--batch classifies the whole test set; it does not take --index, --image or --save-pgm");
    return predict_batches::run(args);
  }
  for (const char* flag : {"limit", "labels", "time", "threads", "json"})
    if (args.count(flag)) throw UsageError(fmt::format("--{} needs --batch N", flag));
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
