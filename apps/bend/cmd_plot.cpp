// bend plot activations: every activation and its derivative on [-5, 5], the landmarks printed
// (sigmoid's largest slope 0.25, GELU's dip, ...) and drawn as SVG charts with an index.html.
#include <cmath>

#include <fmt/format.h>

#include "bend/lab/compare.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"
#include "cli.hpp"

namespace bend::cli {
namespace {

plot::Series curve_series(const std::string& label, const std::vector<double>& x,
                          const std::vector<double>& y, const std::string& color, bool dashed) {
  plot::Series s;
  s.label = label;
  s.x = x;
  s.y = y;
  s.color = color;
  s.dashed = dashed;
  return s;
}

// The flags of `bend plot activations`; `bend plot --help` prints them too.
cxxopts::Options activations_options() {
  cxxopts::Options options("bend plot activations",
                           "Plot every activation and its derivative on [-R, R]: the landmarks printed, SVG "
                           "charts and an index.html in --out.");
  options.add_options()("acts", "comma list, 'default' (the docs' table) or 'all'",
                        cxxopts::value<std::string>()->default_value("all"))(
      "range", "plot x in [-R, R]", cxxopts::value<double>()->default_value("5"))(
      "out", "directory for the charts", cxxopts::value<std::string>()->default_value("lab-out/activations"));
  return options;
}

int plot_activations(int argc, char** argv) {
  cxxopts::Options options = activations_options();
  cxxopts::ParseResult args;
  if (!parse_or_help(options, argc, argv, args)) return 0;
  std::vector<std::string> names;
  try {
    names = lab::parse_activation_list(args["acts"].as<std::string>());
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  const double range = args["range"].as<double>();
  if (!(range > 0) || !std::isfinite(range))
    throw UsageError(fmt::format("--range must be > 0, got {}", range));
  const std::filesystem::path out = args["out"].as<std::string>();

  std::vector<lab::ActivationCurve> curves;
  for (const auto& n : names) curves.push_back(lab::sample_activation(activation(n), -range, range));

  // The printed landmarks.
  const std::vector<std::string> header = {"activation",
                                           "f(0)",
                                           "f'(0)",
                                           "min f (at x)",
                                           "max f' (at x)",
                                           "min f'",
                                           fmt::format("f'({:g})", -range),
                                           fmt::format("f'({:g})", range)};
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : curves)
    rows.push_back({c.name, fmt::format("{:.4f}", c.value_at_zero),
                    fmt::format("{:.4f}", c.derivative_at_zero),
                    fmt::format("{:.4f} ({:+.2f})", c.min_value, c.argmin_value),
                    fmt::format("{:.4f} ({:+.2f})", c.max_derivative, c.argmax_derivative),
                    fmt::format("{:.4f}", c.min_derivative), fmt::format("{:.2e}", c.derivative_at_lo),
                    fmt::format("{:.2e}", c.derivative_at_hi)});
  fmt::print("{:<12} {:>8} {:>8} {:>18} {:>18} {:>8} {:>10} {:>10}\n", header[0], header[1], header[2],
             header[3], header[4], header[5], header[6], header[7]);
  for (const auto& r : rows)
    fmt::print("{:<12} {:>8} {:>8} {:>18} {:>18} {:>8} {:>10} {:>10}\n", r[0], r[1], r[2], r[3], r[4], r[5],
               r[6], r[7]);

  std::vector<std::string> notes;
  for (const auto& c : curves) {
    if (c.name == "sigmoid")
      notes.push_back(
          fmt::format("sigmoid: f' is at most {:.4f}; a product of 20 such factors is at most {:.2e}, of 50 "
                      "{:.2e} (the vanishing-gradient bound)",
                      c.max_derivative, std::pow(c.max_derivative, 20), std::pow(c.max_derivative, 50)));
    if (c.name == "gelu" || c.name == "silu")
      notes.push_back(fmt::format("{}: non-monotone, minimum {:.4f} at x = {:.2f}; f' dips to {:.4f}", c.name,
                                  c.min_value, c.argmin_value, c.min_derivative));
    if (c.name == "tanh")
      notes.push_back(fmt::format("tanh: slope {:.2f} at 0, {:.1e} at x = {:g} (saturated)",
                                  c.derivative_at_zero, c.derivative_at_hi, range));
    if (c.name == "relu")
      notes.push_back(fmt::format("relu: slope exactly {:g} for x > 0 and {:g} for x < 0 (dead zone)",
                                  c.derivative_at_hi, c.derivative_at_lo));
  }
  fmt::print("\n");
  for (const auto& n : notes) fmt::print("{}\n", n);

  // Charts: one panel per activation (f solid, f' dashed), and overlays of f and f'.
  std::vector<plot::LineChart> panels;
  for (const auto& c : curves) {
    plot::LineChart p;
    p.title = c.name;
    p.x_label = "x";
    p.width = 320;
    p.height = 240;
    p.series.push_back(curve_series("f", c.x, c.value, plot::palette_color(0), false));
    p.series.push_back(curve_series("f'", c.x, c.derivative, plot::palette_color(1), true));
    p.reference_y = {0.0};
    panels.push_back(std::move(p));
  }
  // Overlays get crowded: at most ten curves (the docs' set first when there are more).
  std::vector<const lab::ActivationCurve*> overlay;
  for (const auto& c : curves)
    if (curves.size() <= 10 || activation(c.name).in_docs_table) overlay.push_back(&c);
  plot::LineChart functions, derivatives;
  functions.title = "Activation functions";
  derivatives.title = "Derivatives";
  functions.x_label = derivatives.x_label = "x";
  functions.y_label = "f(x)";
  derivatives.y_label = "f'(x)";
  functions.reference_y = derivatives.reference_y = {0.0};
  for (std::size_t i = 0; i < overlay.size(); ++i) {
    functions.series.push_back(
        curve_series(overlay[i]->name, overlay[i]->x, overlay[i]->value, plot::palette_color(i), false));
    derivatives.series.push_back(
        curve_series(overlay[i]->name, overlay[i]->x, overlay[i]->derivative, plot::palette_color(i), false));
  }
  plot::dash_overlapping(functions.series);
  plot::dash_overlapping(derivatives.series);
  plot::save_svg(out / "functions.svg", plot::render_svg(functions));
  plot::save_svg(out / "derivatives.svg", plot::render_svg(derivatives));
  plot::save_svg(out / "grid.svg",
                 plot::render_svg_grid(panels, 4, "Each activation f (solid) and f' (dashed)"));

  plot::HtmlReport page("bend plot activations");
  page.paragraph(
      fmt::format("Every activation and its derivative on [{:g}, {:g}], computed with the activation "
                  "table's kernels.",
                  -range, range));
  page.table(header, rows);
  std::string text;
  for (const auto& n : notes) text += n + "\n";
  if (!text.empty()) page.preformatted(text);
  page.image("functions.svg", "activation functions");
  page.image("derivatives.svg", "derivatives");
  page.image("grid.svg", "every activation and its derivative");
  page.save(out / "index.html");
  fmt::print("\ncharts: {}\n", (out / "index.html").string());
  return 0;
}

}  // namespace

int run_plot(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "";
  if (what == "activations") return plot_activations(argc - 1, argv + 1);
  if (what == "-h" || what == "--help") {
    cxxopts::Options options = activations_options();
    options.add_options()("h,help", "show this help");
    fmt::print(
        "bend plot WHAT [flags]: charts without training. WHAT is one of:\n"
        "  activations   every activation and its derivative (bend plot activations --help)\n\n"
        "{}\n",
        options.help());
    return 0;
  }
  throw UsageError(what.empty() ? "say what to plot: 'activations'"
                                : fmt::format("unknown plot '{}' (available: activations)", what));
}

}  // namespace bend::cli
