// bend lab: small experiments that show the docs' claims with numbers and charts.
//   collapse     a stack of Linear layers is one Linear; it trains like logistic regression
//   xor          a linear model cannot fit XOR, one hidden layer with a nonlinearity can
//   vanishing    per-layer gradient norms of deep sigmoid/tanh/relu/gelu nets, at init and after training
//   dying-relu   dead ReLU units after large learning rates or a negative bias shift, vs leaky variants
// Each prints its numbers and writes SVG charts and an index.html into --out (lab-out/<experiment>).
// The experiments themselves (what computes the numbers, and their thresholds) are library calls in
// src/lab (bend/lab/collapse.hpp, xor.hpp, vanishing.hpp, dying_relu.hpp); this file parses the flags,
// prints and charts.
#include <cmath>

#include <fmt/format.h>

#include "bend/lab/collapse.hpp"
#include "bend/data/registry.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/dying_relu.hpp"
#include "bend/lab/vanishing.hpp"
#include "bend/lab/xor.hpp"
#include "bend/nn/mlp.hpp"
#include "bend/parallel.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"
#include "bend/train/diagnostics.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

// Flags every experiment on a registered dataset shares.
void add_data_flags(cxxopts::Options& options, const std::string& experiment, const std::string& train_limit,
                    const std::string& epochs) {
  options.add_options("Data")("dataset", dataset_flag_help(),
                              cxxopts::value<std::string>()->default_value("mnist"))(
      "data-dir", data_dir_flag_help(), cxxopts::value<std::string>())(
      "train-limit", "use only the first N training images (0: all)",
      cxxopts::value<std::int64_t>()->default_value(train_limit))(
      "test-limit", "use only the first N test images (0: all)",
      cxxopts::value<std::int64_t>()->default_value("0"))(
      "epochs", "epochs per run", cxxopts::value<std::int64_t>()->default_value(epochs))(
      "batch", "batch size", cxxopts::value<std::int64_t>()->default_value("64"))(
      "seed", "random seed", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "out", "directory for the charts",
      cxxopts::value<std::string>()->default_value("lab-out/" + experiment));
}

struct Data {
  TensorDataset train, test;
};

Data load_data(const cxxopts::ParseResult& args) {
  const std::string dataset = args["dataset"].as<std::string>();
  const std::filesystem::path dir = args.count("data-dir")
                                        ? std::filesystem::path(args["data-dir"].as<std::string>())
                                        : std::filesystem::path();
  Data d{load_dataset(dataset, dir, Split::Train), load_dataset(dataset, dir, Split::Test)};
  const auto train_limit = args["train-limit"].as<std::int64_t>(),
             test_limit = args["test-limit"].as<std::int64_t>();
  if (train_limit < 0 || test_limit < 0) throw UsageError("--train-limit/--test-limit must be >= 0");
  if (train_limit > 0 && train_limit < d.train.size()) d.train = subset(d.train, 0, train_limit);
  if (test_limit > 0 && test_limit < d.test.size()) d.test = subset(d.test, 0, test_limit);
  fmt::print("data: {} train / {} test images ({})\n", d.train.size(), d.test.size(), dataset);
  return d;
}

lab::TrainSettings settings_from(const cxxopts::ParseResult& args, std::string optimizer, double lr) {
  lab::TrainSettings s;
  s.optimizer = std::move(optimizer);
  s.lr = lr;
  s.batch = args["batch"].as<std::int64_t>();
  s.epochs = args["epochs"].as<std::int64_t>();
  s.seed = args["seed"].as<std::uint64_t>();
  if (s.batch < 1 || s.epochs < 1) throw UsageError("--batch and --epochs must be >= 1");
  set_num_threads(0);  // the default for this machine (reports a bad BEND_NUM_THREADS)
  return s;
}

std::vector<std::string> parse_acts(const std::string& list) {
  try {
    return lab::parse_activation_list(list);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
}

std::vector<double> parse_numbers(const std::string& flag, const std::string& list) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(',', start), list.size());
    try {
      std::size_t used = 0;
      const std::string part = list.substr(start, end - start);
      out.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UsageError(fmt::format("--{} '{}': expected a comma list of numbers", flag, list));
    }
    start = end + 1;
  }
  return out;
}

plot::Series make_series(const std::string& label, std::vector<double> x, std::vector<double> y,
                         std::size_t color, bool markers = true) {
  plot::Series s;
  s.label = label;
  s.x = std::move(x);
  s.y = std::move(y);
  s.color = plot::palette_color(color);
  s.markers = markers;
  return s;
}

plot::LineChart make_chart(std::string title, std::string x_label, std::string y_label) {
  plot::LineChart c;
  c.title = std::move(title);
  c.x_label = std::move(x_label);
  c.y_label = std::move(y_label);
  return c;
}

std::vector<double> epochs_axis(std::size_t n) {
  std::vector<double> x;
  for (std::size_t i = 1; i <= n; ++i) x.push_back(static_cast<double>(i));
  return x;
}

std::vector<double> percent(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(100 * x);
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : std::string()) + parts[i];
  return out;
}

// Prints a table to stdout and returns it as rows for the page.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) s += fmt::format("{:<{}}  ", cells[i], width[i]);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  };
  line(header);
  for (const auto& r : rows) line(r);
}

// ---------------------------------------------------------------------------------------------------
// collapse

int lab_collapse(int argc, char** argv) {
  cxxopts::Options options(
      "bend lab collapse",
      "A stack of Linear layers equals one Linear: multiply the weights out, then train the "
      "stack, logistic regression and a net with one nonlinearity on MNIST.");
  add_data_flags(options, "collapse", "0", "3");
  options.add_options("Model")("arch", "the linear stack",
                               cxxopts::value<std::string>()->default_value("784-256-128-10"))(
      "act", "the nonlinearity of the comparison net", cxxopts::value<std::string>()->default_value("relu"))(
      "lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.001"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  const auto spec = nn::MlpSpec::parse(args["arch"].as<std::string>(), "relu");
  const std::string act(activation(args["act"].as<std::string>()).name);
  const lab::TrainSettings settings = settings_from(args, "adam", args["lr"].as<double>());
  const std::filesystem::path out = args["out"].as<std::string>();
  const Data data = load_data(args);

  const TensorDataset probe = train::probe_batch(data.test, 512);
  const lab::CollapseExperiment result = lab::run_collapse(
      spec.sizes, act, settings, data.train, data.test, probe, [&](const lab::CollapseCheck& c) {
        fmt::print("\n{} Linear layers without activations ({}): product matrix W {}, bias {}\n",
                   spec.sizes.size() - 1, spec.arch_string(), c.product_weight.shape().str(),
                   c.product_bias.shape().str());
        fmt::print("max |stack(x) - (x Wt + b)| on {} test images: {:.3e} (outputs up to {:.3f})\n",
                   probe.size(), c.max_abs_difference, c.max_abs_output);
        fmt::print("\ntraining {} epoch(s), Adam lr {:g}, batch {}\n", settings.epochs, settings.lr,
                   settings.batch);
        std::fflush(stdout);
      });
  const lab::CollapseCheck &before = result.before, &after = result.after;
  const auto& models = result.models;
  std::vector<std::vector<std::string>> rows;
  for (const lab::CollapseModel& m : models)
    rows.push_back({m.name, fmt::format("{}", m.parameters),
                    fmt::format("{:.2f}%", 100 * m.outcome.final_test_accuracy()),
                    fmt::format("{:.4f}", m.outcome.train_loss.back()),
                    fmt::format("{:.1f}s", m.outcome.seconds)});
  const std::vector<std::string> header = {"model", "parameters", "test acc", "train loss", "time"};
  print_table(header, rows);
  fmt::print("after training the stack is still one matrix: max difference {:.3e}\n",
             after.max_abs_difference);

  plot::LineChart acc =
      make_chart("Test accuracy: depth without a nonlinearity buys nothing", "epoch", "test accuracy (%)");
  for (std::size_t i = 0; i < models.size(); ++i)
    acc.series.push_back(make_series(models[i].name, epochs_axis(models[i].outcome.test_accuracy.size()),
                                     percent(models[i].outcome.test_accuracy), i));
  plot::save_svg(out / "collapse.svg", plot::render_svg(acc));
  plot::HtmlReport page("bend lab collapse");
  page.paragraph(
      fmt::format("A stack of {} Linear layers ({}) multiplied out into one {} matrix: max |difference| "
                  "{:.3e} on {} test images before training, {:.3e} after.",
                  spec.sizes.size() - 1, spec.arch_string(), before.product_weight.shape().str(),
                  before.max_abs_difference, probe.size(), after.max_abs_difference));
  page.table(header, rows);
  page.image("collapse.svg", "test accuracy per epoch");
  page.save(out / "index.html");
  fmt::print("charts: {}\n", (out / "index.html").string());
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// xor

int lab_xor(int argc, char** argv) {
  cxxopts::Options options("bend lab xor",
                           "XOR: a linear model cannot fit it, one hidden layer with a bend can.");
  options.add_options()(
      "acts", "activations of the hidden layer",
      cxxopts::value<std::string>()->default_value("relu,tanh,sigmoid,gelu,leaky_relu,silu"))(
      "hidden", "hidden units", cxxopts::value<std::int64_t>()->default_value("8"))(
      "steps", "full-batch Adam steps", cxxopts::value<std::int64_t>()->default_value("2000"))(
      "lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.05"))(
      "seed", "random seed", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "out", "directory for the charts", cxxopts::value<std::string>()->default_value("lab-out/xor"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  const auto hidden = args["hidden"].as<std::int64_t>(), steps = args["steps"].as<std::int64_t>();
  if (hidden < 1 || steps < 1) throw UsageError("--hidden and --steps must be >= 1");
  const double lr = args["lr"].as<double>();
  const auto seed = args["seed"].as<std::uint64_t>();
  const std::filesystem::path out = args["out"].as<std::string>();

  const std::vector<lab::XorResult> results =
      lab::run_xor(parse_acts(args["acts"].as<std::string>()), hidden, steps, lr, seed);

  fmt::print("XOR as two classes with 2-{}-2 nets, cross-entropy, {} full-batch Adam steps (lr {:g})\n\n",
             hidden, steps, lr);
  const std::vector<std::string> header = {"hidden activation", "final loss", "accuracy",  "P(1|0,0)",
                                           "P(1|0,1)",          "P(1|1,0)",   "P(1|1,1)"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : results)
    rows.push_back({r.activation.empty() ? "none (linear)" : r.activation, fmt::format("{:.4f}", r.final_loss),
                    fmt::format("{:.0f}%", 100 * r.accuracy), fmt::format("{:.3f}", r.outputs[0]),
                    fmt::format("{:.3f}", r.outputs[1]), fmt::format("{:.3f}", r.outputs[2]),
                    fmt::format("{:.3f}", r.outputs[3])});
  print_table(header, rows);
  fmt::print("\nthe best a linear model can do is ln 2 = {:.4f} (P = 0.5 everywhere); classes are 0, 1, 1, 0\n",
             lab::kXorLinearBestLoss);

  plot::LineChart chart = make_chart("XOR: cross-entropy during training", "step", "loss (log)");
  chart.y_scale = plot::Scale::Log10;
  chart.reference_y = {lab::kXorLinearBestLoss};
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::vector<double> x;
    for (std::size_t k = 0; k < results[i].loss_curve.size(); ++k)
      x.push_back(static_cast<double>(lab::kXorCurveStride * static_cast<std::int64_t>(k)));
    plot::Series s = make_series(results[i].activation.empty() ? "linear" : results[i].activation, x,
                                 results[i].loss_curve, i, false);
    s.dashed = results[i].activation.empty();
    chart.series.push_back(std::move(s));
  }
  plot::save_svg(out / "xor.svg", plot::render_svg(chart));
  plot::HtmlReport page("bend lab xor");
  page.paragraph(
      fmt::format("A linear model cannot separate XOR: its best cross-entropy is ln 2 = {:.4f} (the dashed "
                  "reference line). One hidden layer with any nonlinearity fits it.",
                  lab::kXorLinearBestLoss));
  page.table(header, rows);
  page.image("xor.svg", "cross-entropy during training");
  page.save(out / "index.html");
  fmt::print("charts: {}\n", (out / "index.html").string());
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// vanishing

int lab_vanishing(int argc, char** argv) {
  cxxopts::Options options("bend lab vanishing",
                           "Per-layer gradient norms of deep MLPs at init and after training: saturating "
                           "activations make them vanish towards the input.");
  add_data_flags(options, "vanishing", "0", "1");
  options.add_options("Model")("depth", "hidden layers", cxxopts::value<std::int64_t>()->default_value("20"))(
      "width", "units per hidden layer", cxxopts::value<std::int64_t>()->default_value("64"))(
      "acts", "activations to compare",
      cxxopts::value<std::string>()->default_value("sigmoid,tanh,relu,gelu"))(
      "init", "auto | he | xavier | lecun | torch", cxxopts::value<std::string>()->default_value("auto"))(
      "opt", "sgd | adam", cxxopts::value<std::string>()->default_value("sgd"))(
      "lr", "learning rate", cxxopts::value<double>()->default_value("0.05"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  const auto depth = args["depth"].as<std::int64_t>(), width = args["width"].as<std::int64_t>();
  if (depth < 1 || width < 1) throw UsageError("--depth and --width must be >= 1");
  const auto acts = parse_acts(args["acts"].as<std::string>());
  const auto scheme = nn::init::parse_scheme(args["init"].as<std::string>());
  const std::string opt = args["opt"].as<std::string>();
  if (opt != "sgd" && opt != "adam") throw UsageError(fmt::format("--opt '{}': sgd or adam", opt));
  const lab::TrainSettings settings = settings_from(args, opt, args["lr"].as<double>());
  const std::filesystem::path out = args["out"].as<std::string>();
  const Data data = load_data(args);
  const TensorDataset probe = train::probe_batch(data.test, 512);

  fmt::print(
      "{} hidden layers of {} units; {} {} epoch(s), lr {:g}, batch {}; diagnostics on {} test images\n",
      depth, width, opt, settings.epochs, settings.lr, settings.batch, probe.size());
  const double bound = lab::sigmoid_gradient_bound(depth);
  fmt::print("the docs' bound for sigmoid: {:g}^{} = {:.2e}\n\n", lab::kSigmoidMaxDerivative, depth, bound);

  const std::vector<lab::VanishingRun> runs = lab::run_vanishing(
      depth, width, acts, scheme, settings, data.train, data.test, probe, [](const lab::VanishingRun& r) {
        fmt::print(
            "{}: first-layer grad {:.2e}, last {:.2e}, ratio {:.2e} at init; ratio {:.2e} after; test acc "
            "{}\n",
            r.act, r.init.layers.front().weight_grad_norm, r.init.layers.back().weight_grad_norm,
            r.init.grad_norm_ratio, r.trained.grad_norm_ratio,
            r.outcome.diverged ? std::string("diverged")
                               : fmt::format("{:.2f}%", 100 * r.outcome.final_test_accuracy()));
        std::fflush(stdout);
      });
  fmt::print("\n");
  const std::vector<std::string> header = {"activation",   "grad L1 (init)",  "grad output (init)",
                                           "ratio (init)", "ratio (trained)", "saturated (mean, trained)",
                                           "test acc",     "learns?"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs)
    rows.push_back(
        {r.act, fmt::format("{:.2e}", r.init.layers.front().weight_grad_norm),
         fmt::format("{:.2e}", r.init.layers.back().weight_grad_norm),
         fmt::format("{:.2e}", r.init.grad_norm_ratio), fmt::format("{:.2e}", r.trained.grad_norm_ratio),
         fmt::format("{:.1f}%", 100 * r.mean_saturated),
         r.outcome.diverged ? "diverged" : fmt::format("{:.2f}%", 100 * r.outcome.final_test_accuracy()),
         r.learns ? "yes" : fmt::format("no (chance is ~{:.0f}%)", 100.0 / data.train.num_classes)});
  print_table(header, rows);
  std::vector<std::string> notes;
  for (const auto& r : runs)
    if (r.forward_signal_died)
      notes.push_back(fmt::format(
          "note: {}: the output layer's gradient is {:.1e} already at init: the forward signal "
          "shrank through {} layers (last hidden activations' std {:.1e}); an init with a "
          "larger gain for {} would keep it alive",
          r.act, r.init.layers.back().weight_grad_norm, depth, r.init.hidden().back()->act_std, r.act));
  for (const auto& n : notes) fmt::print("{}\n", n);

  // Per-layer gradient norms, at init and after training.
  std::vector<plot::LineChart> panels;
  for (int phase = 0; phase < 2; ++phase) {
    plot::LineChart c = make_chart(phase == 0 ? "At init" : fmt::format("After {} epoch(s)", settings.epochs),
                                   "layer (1 = input side)", "weight grad norm (log)");
    c.y_scale = plot::Scale::Log10;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto& d = phase == 0 ? runs[i].init : runs[i].trained;
      std::vector<double> x, y;
      for (std::size_t k = 0; k < d.layers.size(); ++k) {
        x.push_back(static_cast<double>(k + 1));
        y.push_back(d.layers[k].weight_grad_norm);
      }
      c.series.push_back(make_series(runs[i].act, x, y, i));
    }
    panels.push_back(std::move(c));
  }
  plot::save_svg(
      out / "vanishing.svg",
      plot::render_svg_grid(
          panels, 2, fmt::format("Weight-gradient norm per layer, {} hidden layers of {}", depth, width)));
  plot::HtmlReport page(fmt::format("bend lab vanishing (depth {})", depth));
  page.paragraph(
      fmt::format("{} hidden layers of {} units, {} lr {:g}, {} epoch(s) on {} images. The docs' bound "
                  "for sigmoid is {:g}^{} = {:.2e}: sigmoid's derivative is at most {:g}, so the backward "
                  "product through {} layers is at most that (times the weights' gains).",
                  depth, width, opt, settings.lr, settings.epochs, data.train.size(),
                  lab::kSigmoidMaxDerivative, depth, bound, lab::kSigmoidMaxDerivative, depth));
  page.table(header, rows);
  for (const auto& n : notes) page.paragraph(n);
  page.image("vanishing.svg", "gradient norms per layer");
  page.save(out / "index.html");
  fmt::print("charts: {}\n", (out / "index.html").string());
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// dying-relu

int lab_dying_relu(int argc, char** argv) {
  cxxopts::Options options(
      "bend lab dying-relu",
      "Dead units after plain SGD with growing learning rates, and with hidden biases shifted "
      "negative at init: ReLU against leaky_relu, elu and gelu.");
  add_data_flags(options, "dying-relu", "10000", "1");
  options.add_options("Model")("arch", "layer sizes",
                               cxxopts::value<std::string>()->default_value("784-256-128-10"))(
      "acts", "activations to compare",
      cxxopts::value<std::string>()->default_value("relu,leaky_relu,elu,gelu"))(
      "lrs", "SGD learning rates", cxxopts::value<std::string>()->default_value("0.01,0.1,0.5,1.0"))(
      "bias-shift", "second sweep: add this to every hidden bias at init (0: skip)",
      cxxopts::value<float>()->default_value("-1"));
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  const auto spec = nn::MlpSpec::parse(args["arch"].as<std::string>(), "relu");
  const auto acts = parse_acts(args["acts"].as<std::string>());
  const auto lrs = parse_numbers("lrs", args["lrs"].as<std::string>());
  for (double lr : lrs)
    if (!(lr > 0)) throw UsageError(fmt::format("--lrs: learning rates must be > 0, got {}", lr));
  const float shift = args["bias-shift"].as<float>();
  lab::TrainSettings settings = settings_from(args, "sgd", lrs.front());
  const std::filesystem::path out = args["out"].as<std::string>();
  const Data data = load_data(args);
  const TensorDataset probe = train::probe_batch(data.test, 512);
  fmt::print("{} with {} ; SGD, {} epoch(s), batch {}; dead = derivative 0 on all {} probe images\n\n",
             spec.arch_string(), join(acts, ", "), settings.epochs, settings.batch, probe.size());
  const lab::DyingReluExperiment result = lab::run_dying_relu(
      spec.sizes, acts, lrs, shift, settings, data.train, data.test, probe, [](const lab::DyingReluRun& r) {
        std::vector<std::string> per_layer;
        for (double f : r.dead_layers) per_layer.push_back(fmt::format("{:.1f}%", 100 * f));
        fmt::print(
            "{:<11} lr {:<5g} bias shift {:+g}: dead {:5.1f}% at init -> {:5.1f}% after ({}), test acc {}\n",
            r.act, r.lr, r.shift, 100 * r.dead_init, 100 * r.dead_trained, join(per_layer, " / "),
            r.diverged ? std::string("diverged") : fmt::format("{:.2f}%", 100 * r.accuracy));
        std::fflush(stdout);
      });
  const auto& runs = result.runs;
  const auto& shifts = result.shifts;

  const std::vector<std::string> header = {
      "activation", "lr", "bias shift", "dead at init", "dead after", "dead per layer", "test acc"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    std::vector<std::string> per_layer;
    for (double f : r.dead_layers) per_layer.push_back(fmt::format("{:.1f}%", 100 * f));
    rows.push_back({r.act, fmt::format("{:g}", r.lr), fmt::format("{:+g}", r.shift),
                    fmt::format("{:.1f}%", 100 * r.dead_init), fmt::format("{:.1f}%", 100 * r.dead_trained),
                    join(per_layer, " / "),
                    r.diverged ? "diverged" : fmt::format("{:.2f}%", 100 * r.accuracy)});
  }

  std::vector<plot::LineChart> panels;
  for (float s : shifts) {
    plot::LineChart c =
        make_chart(s == 0.0f ? "Default init" : fmt::format("Hidden biases shifted by {:+g}", s),
                   "SGD learning rate (log)", "dead hidden units after training (%)");
    c.x_scale = plot::Scale::Log10;
    c.y_min = 0;
    c.y_max = 100;
    for (std::size_t i = 0; i < acts.size(); ++i) {
      std::vector<double> x, y;
      for (const auto& r : runs)
        if (r.act == acts[i] && r.shift == s) {
          x.push_back(r.lr);
          y.push_back(r.diverged ? std::nan("")
                                 : 100 * r.dead_trained);  // a diverged net's NaNs are no finding
        }
      c.series.push_back(make_series(acts[i], x, y, i));
    }
    panels.push_back(std::move(c));
  }
  plot::save_svg(out / "dying_relu.svg", plot::render_svg_grid(panels, 2, "Dead units after training"));
  plot::HtmlReport page("bend lab dying-relu");
  page.paragraph(fmt::format(
      "{} trained with plain SGD for {} epoch(s) on {} images. A unit is dead when its "
      "activation's derivative is zero for every one of {} probe test images; dead ReLUs get "
      "no gradient and never recover, leaky variants cannot die. Diverged runs (NaN loss) are left out "
      "of the chart. ELU or GELU units counted dead come from float underflow: their pre-activations "
      "went below about -90 after a blow-up (test accuracy near chance).",
      spec.arch_string(), settings.epochs, data.train.size(), probe.size()));
  page.table(header, rows);
  page.image("dying_relu.svg", "dead units against learning rate");
  page.save(out / "index.html");
  fmt::print("\ncharts: {}\n", (out / "index.html").string());
  return 0;
}

}  // namespace

int run_lab(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "";
  if (what == "collapse") return lab_collapse(argc - 1, argv + 1);
  if (what == "xor") return lab_xor(argc - 1, argv + 1);
  if (what == "vanishing") return lab_vanishing(argc - 1, argv + 1);
  if (what == "dying-relu") return lab_dying_relu(argc - 1, argv + 1);
  if (what == "-h" || what == "--help") {
    fmt::print(
        "usage: bend lab EXPERIMENT [flags]   (each takes --help)\n"
        "  collapse     a stack of Linear layers equals one Linear, and trains like logistic regression\n"
        "  xor          a linear model cannot fit XOR; one hidden layer with a nonlinearity can\n"
        "  vanishing    per-layer gradient norms of deep sigmoid/tanh/relu/gelu MLPs (--depth 20)\n"
        "  dying-relu   dead ReLU units after large learning rates or a negative bias shift\n");
    return 0;
  }
  throw UsageError(what.empty()
                       ? "name an experiment: collapse, xor, vanishing, dying-relu"
                       : fmt::format("unknown experiment '{}' (collapse, xor, vanishing, dying-relu)", what));
}

}  // namespace bend::cli
