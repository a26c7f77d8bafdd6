#pragma once
// A small standalone SVG chart writer for bend's reports (`bend compare`, `bend lab`): line charts with
// linear or log axes, grouped bar charts, and grids of small line charts. Output is plain SVG 1.1 with
// no scripts, no ids and no external resources, so it renders the same in browsers, rsvg and <img> tags.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bend::plot {

enum class Scale { Linear, Log10 };

// One line on a LineChart. Points whose x or y is NaN/inf (or non-positive on a log axis) are skipped
// and break the line there. An empty x means x = 0, 1, 2, ...
struct Series {
  std::string label;  // legend text; series with an empty label get no legend entry
  std::vector<double> x, y;
  std::string color;  // any SVG colour ("#d62728", "teal"); empty = next colour of the palette
  bool dashed = false;
  bool markers = false;  // draw a small circle at every point
  std::string dash;      // an SVG stroke-dasharray ("2 3"), for curves that overlap others; wins over dashed
};

// A shaded band behind a series (e.g. mean ± one std over seeds): low[i]..high[i] at the series' x[i],
// filled in the series' colour at low opacity, under every line. low and high have the series' length;
// a point with a non-finite bound (or a non-positive one on a log axis) breaks the band there.
struct Band {
  std::size_t series = 0;  // index into LineChart::series
  std::vector<double> low, high;
};

struct LineChart {
  std::string title, x_label, y_label;
  Scale x_scale = Scale::Linear;
  Scale y_scale = Scale::Linear;
  // Axis limits; unset limits come from the data (y rounded out to nice ticks, x exactly the data).
  std::optional<double> x_min, x_max, y_min, y_max;
  std::vector<Series> series;
  // Dashed grey horizontal lines, e.g. y = 0 or a target accuracy, drawn on top of the data so a curve
  // that runs along one never hides it; reference_labels[i] (when given and not empty) is written above
  // line i at the right end ("chance", "ln 2").
  std::vector<double> reference_y;
  std::vector<std::string> reference_labels;
  int width = 720, height = 440;
  std::vector<Band> bands;
};

// One category on the x axis of a BarChart (e.g. one layer), holding one value per bar label.
struct BarGroup {
  std::string label;
  std::vector<double> values;  // NaN/inf (and non-positive on a log axis) draw no bar
};

struct BarChart {
  std::string title, x_label, y_label;
  std::vector<std::string> bar_labels;  // legend, one per bar within a group; may be empty for one bar
  std::vector<BarGroup> groups;
  Scale y_scale = Scale::Linear;
  std::optional<double> y_min, y_max;
  int width = 720, height = 440;
};

// Complete standalone SVG documents. Throw ValueError for inconsistent input (x/y lengths differ, a band
// that names no series or whose length differs from its series',
// y_min >= y_max, a non-positive limit on a log axis, a canvas too small to draw on).
std::string render_svg(const LineChart& chart);
std::string render_svg(const BarChart& chart);

// Panels laid out row by row, `columns` per row, each in a cell as large as the largest panel.
std::string render_svg_grid(std::span<const LineChart> panels, int columns, std::string_view title = {});

// Round tick values with steps of 1, 2 or 5 times a power of ten, about target_count of them, the first
// <= lo and the last >= hi. lo == hi gets a small range around it. Throws ValueError for non-finite input.
std::vector<double> nice_ticks(double lo, double hi, int target_count);

// Gives each series that runs along an earlier one (within 1% of the series' joint y range at more than
// half of the points, compared index by index) a dash pattern of its own, so the curve underneath shows
// through the gaps (leaky_relu over relu, celu over elu). Series already dashed are left alone.
void dash_overlapping(std::vector<Series>& series);

// Colour of the index-th automatically coloured series (a colour-blind-friendly 10-colour cycle).
std::string palette_color(std::size_t index);

// Escapes & < > " ' for XML text and attributes; drops characters XML forbids and replaces invalid
// UTF-8 with U+FFFD, so any label yields a well-formed document.
std::string xml_escape(std::string_view text);

// Writes text to a file, creating missing parent directories. Throws IoError naming the path.
void save_svg(const std::filesystem::path& path, std::string_view svg);

}  // namespace bend::plot
