// SVG chart writer: tick selection, layout (margins sized from estimated text widths, legend to the right
// of the plot area), line clipping and XML escaping. Lines are clipped to the plot area in code rather
// than with <clipPath>, so documents need no ids and can be embedded side by side without clashes.
#include "bend/plot/svg_chart.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "bend/detail/utf8.hpp"
#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"

namespace bend::plot {
namespace {

constexpr const char* kFontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif";
constexpr double kTickFont = 11;
constexpr double kAxisLabelFont = 12;
constexpr double kTitleFont = 15;
constexpr double kLegendFont = 11;
constexpr double kTickLength = 5;
constexpr double kLegendRowHeight = 16;
constexpr double kLegendSwatchWidth = 24;
constexpr double kLegendGapAfterSwatch = 6;
constexpr double kLegendColumnGap = 12;
constexpr double kLineWidth = 1.8;
constexpr double kMinPlotWidth = 80;
constexpr double kMinPlotHeight = 40;
constexpr const char* kTextColor = "#333333";
constexpr const char* kGridColor = "#e6e6e6";
constexpr const char* kFrameColor = "#888888";

// ---------------------------------------------------------------------------------------------------
// Number formatting: coordinates get at most two decimals, tick labels as many as their step needs.

std::string format_fixed(double value, int decimals) {
  std::array<char, 512> buffer{};
  auto [end, error] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed, decimals);
  if (error != std::errc{}) return "0";
  std::string text(buffer.data(), end);
  // "-0.00" would read as a negative number.
  if (text[0] == '-' && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

std::string trim_zeros(std::string text) {
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

// A pixel coordinate or length.
std::string num(double value) { return trim_zeros(format_fixed(value, 2)); }

double pow10(int exponent) { return std::pow(10.0, exponent); }

// log10 as an int, clamped to the double range (callers pass positive values; 0 and inf stay defined).
int clamped_log10(double value, double (*round)(double)) {
  const double exponent = round(std::log10(value));
  return std::isnan(exponent) ? 0 : static_cast<int>(std::clamp(exponent, -330.0, 330.0));
}

// Largest e with 10^e <= value (value > 0), robust to log10 rounding at exact powers of ten.
int floor_exponent(double value) {
  int e = clamped_log10(value, std::floor);
  while (e > -330 && pow10(e) > value) --e;
  while (e < 330 && pow10(e + 1) <= value) ++e;
  return e;
}

// Smallest e with 10^e >= value (value > 0).
int ceil_exponent(double value) {
  int e = clamped_log10(value, std::ceil);
  while (e < 330 && pow10(e) < value) ++e;
  while (e > -330 && pow10(e - 1) >= value) --e;
  return e;
}

int decimals_for_step(double step) {
  return std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 15);
}

// "2.5e-7", "1e6": mantissa with as many decimals as the tick step needs, plain integer exponent.
std::string format_scientific(double value, double step) {
  if (value == 0) return "0";
  int exponent = floor_exponent(std::abs(value));
  const int step_exponent = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  int decimals = std::clamp(exponent - step_exponent, 0, 15);
  std::string mantissa = trim_zeros(format_fixed(value / pow10(exponent), decimals));
  if (mantissa == "10" || mantissa == "-10") {  // rounding carried into the next decade
    ++exponent;
    decimals = std::clamp(exponent - step_exponent, 0, 15);
    mantissa = trim_zeros(format_fixed(value / pow10(exponent), decimals));
  }
  return mantissa + "e" + std::to_string(exponent);
}

// Labels for linear ticks: fixed notation with the decimals the step needs, or scientific notation
// when the numbers are very large or very small.
std::vector<std::string> linear_tick_labels(const std::vector<double>& ticks, double step) {
  double largest = 0;
  for (double t : ticks) largest = std::max(largest, std::abs(t));
  const bool scientific = largest >= 1e6 || (largest > 0 && largest < 1e-3);
  std::vector<std::string> labels;
  for (double t : ticks) {
    if (std::abs(t) < step * 1e-9) t = 0;
    labels.push_back(scientific ? format_scientific(t, step) : format_fixed(t, decimals_for_step(step)));
  }
  return labels;
}

// Log tick label for mantissa * 10^exponent: plain ("0.01", "200") when every label on the axis is
// short that way, otherwise "1e-12" / "5e-3".
std::string log_tick_label(int mantissa, int exponent, bool plain) {
  if (plain) return format_fixed(mantissa * pow10(exponent), std::max(0, -exponent));
  return std::to_string(mantissa) + "e" + std::to_string(exponent);
}

// ---------------------------------------------------------------------------------------------------
// Text: escaping and width estimates (no font metrics available, so per-character em widths that err
// slightly wide for DejaVu Sans, the usual fallback font).

double char_em_width(char32_t c) {
  if (c >= '0' && c <= '9') return 0.64;
  if (c == ' ') return 0.32;
  if (c == 'i' || c == 'l' || c == 'j' || c == '.' || c == ',' || c == ':' || c == ';' || c == '\'' ||
      c == '|' || c == '!')
    return 0.30;
  if (c == 'f' || c == 'r' || c == 't' || c == '(' || c == ')' || c == '[' || c == ']' || c == '-' ||
      c == '/')
    return 0.40;
  if (c == 'm' || c == 'w') return 0.92;
  if (c == 'M' || c == 'W') return 0.95;
  if (c >= 'A' && c <= 'Z') return 0.72;
  if (c >= 'a' && c <= 'z') return 0.60;
  if (c == '_' || c == '=' || c == '+' || c == '<' || c == '>') return 0.70;
  return 0.66;
}

// Decodes UTF-8; invalid sequences become U+FFFD.
std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int length = byte < 0x80           ? 1
                 : (byte >> 5) == 0x6  ? 2
                 : (byte >> 4) == 0xE  ? 3
                 : (byte >> 3) == 0x1E ? 4
                                       : 0;
    char32_t code = length == 1 ? byte : length == 2 ? byte & 0x1F : length == 3 ? byte & 0x0F : byte & 0x07;
    bool valid = length > 0 && i + static_cast<std::size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next >> 6) != 0x2) valid = false;
      code = (code << 6) | (next & 0x3F);
    }
    // Reject overlong encodings, surrogates and values past U+10FFFF.
    if (valid && ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
                  (length == 4 && code < 0x10000) || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)))
      valid = false;
    if (valid) {
      out.push_back(code);
      i += static_cast<std::size_t>(length);
    } else {
      out.push_back(0xFFFD);
      ++i;
    }
  }
  return out;
}

double text_width(std::string_view text, double font_size) {
  double em = 0;
  for (char32_t c : decode_utf8(text)) em += char_em_width(c);
  return em * font_size;
}

// Shortens text to fit max_width, ending in an ellipsis.
std::string fit_text(const std::string& text, double font_size, double max_width) {
  if (text_width(text, font_size) <= max_width) return text;
  const std::u32string chars = decode_utf8(text);
  double width = char_em_width(U'\u2026') * font_size;
  std::string out;
  for (char32_t c : chars) {
    width += char_em_width(c) * font_size;
    if (width > max_width) break;
    detail::append_utf8(out, c);
  }
  return out + "\u2026";
}

// ---------------------------------------------------------------------------------------------------
// Axes.

struct Tick {
  double value;
  std::string label;  // empty for minor ticks
};

struct Axis {
  Scale scale = Scale::Linear;
  double lo = 0, hi = 1;
  double pixel_lo = 0, pixel_hi = 1;  // pixel positions of lo and hi
  std::vector<Tick> ticks;

  bool accepts(double v) const { return std::isfinite(v) && (scale == Scale::Linear || v > 0); }
  double pixel(double v) const {
    double fraction = scale == Scale::Log10
                          ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                          : (v - lo) / (hi - lo);
    // Far-away points stay finite so clipping arithmetic never sees inf.
    fraction = std::clamp(fraction, -1e6, 1e6);
    return pixel_lo + fraction * (pixel_hi - pixel_lo);
  }
  double max_label_width() const {
    double width = 0;
    for (const Tick& t : ticks) width = std::max(width, text_width(t.label, kTickFont));
    return width;
  }
};

struct DataRange {
  bool any = false;
  double lo = 0, hi = 0;
  void add(double v) {
    if (!any) {
      lo = hi = v;
      any = true;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
};

void check_limits(std::optional<double> user_lo, std::optional<double> user_hi, Scale scale,
                  std::string_view axis_name) {
  for (auto limit : {user_lo, user_hi}) {
    if (limit && !std::isfinite(*limit))
      throw ValueError("chart: " + std::string(axis_name) + " limit " + std::to_string(*limit) +
                       " is not finite");
    if (limit && scale == Scale::Log10 && *limit <= 0)
      throw ValueError("chart: " + std::string(axis_name) + " limit " + std::to_string(*limit) +
                       " must be positive on a log axis");
  }
  if (user_lo && user_hi && !(*user_lo < *user_hi))
    throw ValueError("chart: " + std::string(axis_name) + "_min " + std::to_string(*user_lo) +
                     " must be less than " + std::string(axis_name) + "_max " + std::to_string(*user_hi));
}

// Linear axis. With round_out the unset ends move out to the enclosing nice ticks; otherwise the axis
// spans the data exactly and only ticks inside it are kept.
// With integer_data (epochs, layer numbers) ticks never fall between integers.
Axis make_linear_axis(const DataRange& data, std::optional<double> user_lo, std::optional<double> user_hi,
                      int target_ticks, bool round_out, bool integer_data = false) {
  Axis axis;
  double lo = user_lo ? *user_lo : data.any ? data.lo : 0.0;
  double hi = user_hi ? *user_hi : data.any ? data.hi : 1.0;
  if (!(lo < hi) && (user_lo || user_hi)) {  // one limit set, data entirely beyond it
    if (user_lo)
      hi = lo + std::max(1.0, std::abs(lo));
    else
      lo = hi - std::max(1.0, std::abs(hi));
  }
  if (integer_data) {
    if (lo == hi) {
      lo -= 1;
      hi += 1;
    }
    target_ticks = std::min(target_ticks, static_cast<int>(std::min(hi - lo, 1e6)) + 1);
  }
  std::vector<double> ticks = nice_ticks(lo, hi, target_ticks);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  if (round_out || !(lo < hi)) {  // a single value always needs a range around it
    if (!user_lo) lo = ticks.front();
    if (!user_hi) hi = ticks.back();
  }
  axis.lo = lo;
  axis.hi = hi;
  const double tolerance = (hi - lo) * 1e-9;
  std::vector<double> kept;
  for (double t : ticks)
    if (t >= lo - tolerance && t <= hi + tolerance) kept.push_back(t);
  const std::vector<std::string> labels = linear_tick_labels(kept, step);
  for (std::size_t i = 0; i < kept.size(); ++i) axis.ticks.push_back({kept[i], labels[i]});
  return axis;
}

// Log axis: unset ends round out to whole decades. Decades are labelled (every k-th when crowded,
// label_spacing pixels apart at least), with 2 and 5 labelled too when decades are wide.
Axis make_log_axis(const DataRange& data, std::optional<double> user_lo, std::optional<double> user_hi,
                   double length, double label_spacing) {
  Axis axis;
  axis.scale = Scale::Log10;
  double lo = 1, hi = 10;
  if (data.any) {
    // Clamped so the decade ends stay normal doubles (10^-324 would round to zero).
    lo = pow10(std::clamp(floor_exponent(data.lo), -300, 300));
    hi = pow10(std::clamp(ceil_exponent(data.hi), -300, 300));
    if (lo == hi) {
      lo /= 10;
      hi *= 10;
    }
  }
  // Limits stay within 1e-300..1e300 so logs, ratios and decade ends remain finite normal numbers.
  if (user_lo) lo = std::clamp(*user_lo, 1e-300, 1e299);
  if (user_hi) hi = std::clamp(*user_hi, 1e-299, 1e300);
  if (!(lo < hi)) {  // one limit set, data entirely beyond it
    if (user_lo)
      hi = lo * 100;
    else
      lo = hi / 100;
  }
  axis.lo = lo;
  axis.hi = hi;

  const int first = ceil_exponent(lo), last = floor_exponent(hi);
  const double pixels_per_decade = length / (std::log10(hi) - std::log10(lo));
  const bool label_2_and_5 = pixels_per_decade >= 3 * label_spacing;
  const bool minor_2_to_9 = pixels_per_decade >= 40;
  const int max_labels = std::max(2, static_cast<int>(length / label_spacing));
  // Label every stride-th decade, with stride 1, 2, 3, 4, 5, 10, 20, 25, 50, 100, ... so labels stay round.
  const int needed = std::max(1, (last - first + max_labels) / max_labels);  // ceil((decades + 1) / max)
  int stride = 1;
  for (int scale = 1; stride < needed; scale *= 10)
    for (int base : {1, 2, 3, 4, 5, 10, 20, 25, 50})
      if (stride < needed && base * scale >= needed && (scale == 1 || base >= 10)) stride = base * scale;
  const bool plain = floor_exponent(lo) >= -3 && ceil_exponent(hi) <= 4;

  for (int e = floor_exponent(lo); e <= last; ++e) {
    for (int m = 1; m <= 9; ++m) {
      const double value = m * pow10(e);
      if (value < lo * (1 - 1e-12) || value > hi * (1 + 1e-12)) continue;
      if (m == 1) {
        const bool labelled = ((e % stride) + stride) % stride == 0;
        axis.ticks.push_back({value, labelled ? log_tick_label(1, e, plain) : std::string()});
      } else if (label_2_and_5 && (m == 2 || m == 5)) {
        axis.ticks.push_back({value, log_tick_label(m, e, plain)});
      } else if (minor_2_to_9) {
        axis.ticks.push_back({value, std::string()});
      }
    }
  }
  // Too narrow a range to contain a labelled tick: label the ends.
  if (std::none_of(axis.ticks.begin(), axis.ticks.end(), [](const Tick& t) { return !t.label.empty(); })) {
    const double step = (hi - lo) / 4;
    for (double v : {lo, hi}) axis.ticks.push_back({v, format_scientific(v, step)});
  }
  return axis;
}

// ---------------------------------------------------------------------------------------------------
// SVG output.

struct Rect {
  double left, top, right, bottom;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

class Svg {
 public:
  std::string out;

  void text(double x, double y, std::string_view content, double size, std::string_view anchor,
            std::string_view extra = {}) {
    out += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\"";
    if (anchor != "start") out += " text-anchor=\"" + std::string(anchor) + "\"";
    if (!extra.empty()) out += " " + std::string(extra);
    out += ">" + xml_escape(content) + "</text>\n";
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width,
            std::string_view extra = {}) {
    out += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
           "\" stroke=\"" + xml_escape(stroke) + "\" stroke-width=\"" + num(width) + "\"";
    if (!extra.empty()) out += " " + std::string(extra);
    out += "/>\n";
  }
  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra = {}) {
    out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
           "\" fill=\"" + xml_escape(fill) + "\"";
    if (!extra.empty()) out += " " + std::string(extra);
    out += "/>\n";
  }
  void circle(double x, double y, double r, std::string_view fill) {
    out += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" fill=\"" +
           xml_escape(fill) + "\"/>\n";
  }
};

std::string document_open(double width, double height) {
  const std::string w = num(width), h = num(height);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
         w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h + "\" font-family=\"" + kFontFamily +
         "\" fill=\"" + kTextColor + "\">\n<rect x=\"0\" y=\"0\" width=\"" + w + "\" height=\"" + h +
         "\" fill=\"#ffffff\"/>\n";
}

constexpr std::array<const char*, 10> kPalette = {
    // Tableau 10, with its light grey swapped for a dark one that neither reads as a grid line nor
    // looks like the brown.
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#555555"};

// Dash patterns for successive trips through the palette, so 40 series stay distinguishable.
constexpr std::array<const char*, 4> kCycleDashes = {"", "7 3", "2 2.5", "10 3 2 3"};
constexpr const char* kDashedPattern = "6 4";

// Bars cannot be dashed: the second trip through the palette uses pale fills outlined in the full colour.
struct BarStyle {
  std::string fill;
  std::string outline;  // empty = none
};

// Mixes a "#rrggbb" colour with white.
std::string lighten(std::string_view hex, double white_share) {
  std::string out = "#";
  for (std::size_t i = 1; i + 1 < hex.size(); i += 2) {
    const int channel = std::stoi(std::string(hex.substr(i, 2)), nullptr, 16);
    const int mixed = static_cast<int>(std::lround(channel + (255 - channel) * white_share));
    constexpr const char* kDigits = "0123456789abcdef";
    out += kDigits[mixed / 16];
    out += kDigits[mixed % 16];
  }
  return out;
}

BarStyle bar_style(std::size_t index) {
  const std::string color = palette_color(index);
  if ((index / kPalette.size()) % 2 == 0) return {color, ""};
  return {lighten(color, 0.6), color};
}

struct LineStyle {
  std::string color;
  std::string dash;  // empty = solid
};

std::vector<LineStyle> line_styles(const std::vector<Series>& series) {
  std::vector<LineStyle> styles;
  std::size_t auto_index = 0;
  for (const Series& s : series) {
    LineStyle style;
    if (s.color.empty()) {
      style.color = palette_color(auto_index);
      style.dash = kCycleDashes[(auto_index / kPalette.size()) % kCycleDashes.size()];
      ++auto_index;
    } else {
      style.color = s.color;
    }
    if (s.dashed && style.dash.empty()) style.dash = kDashedPattern;
    if (!s.dash.empty()) style.dash = s.dash;
    styles.push_back(style);
  }
  return styles;
}

std::string stroke_attributes(const LineStyle& style, double width) {
  std::string attributes = "fill=\"none\" stroke=\"" + xml_escape(style.color) + "\" stroke-width=\"" +
                           num(width) + "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"";
  if (!style.dash.empty()) attributes += " stroke-dasharray=\"" + style.dash + "\"";
  return attributes;
}

// Liang-Barsky: clips the segment to the rectangle in place; false if nothing of it is inside.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, const Rect& r) {
  double t0 = 0, t1 = 1;
  const double dx = x1 - x0, dy = y1 - y0;
  auto edge = [&](double p, double q) {
    if (p == 0) return q >= 0;
    const double t = q / p;
    if (p < 0) {
      if (t > t1) return false;
      t0 = std::max(t0, t);
    } else {
      if (t < t0) return false;
      t1 = std::min(t1, t);
    }
    return true;
  };
  if (!edge(-dx, x0 - r.left) || !edge(dx, r.right - x0) || !edge(-dy, y0 - r.top) ||
      !edge(dy, r.bottom - y0))
    return false;
  const double ox = x0, oy = y0;
  x0 = ox + t0 * dx;
  y0 = oy + t0 * dy;
  x1 = ox + t1 * dx;
  y1 = oy + t1 * dy;
  return true;
}

bool inside(const Rect& r, double x, double y) {
  return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
}

// ---------------------------------------------------------------------------------------------------
// Legend to the right of the plot area: as many columns as needed to fit the plot height, labels
// shortened if the legend would take more than ~40% of the width.

struct LegendEntry {
  std::string label;
  LineStyle style;
  bool markers = false;
  bool box = false;  // bar charts show a filled square instead of a line
  std::string box_outline;
};

struct LegendLayout {
  std::vector<std::string> labels;  // after shortening
  int rows_per_column = 1;
  double column_width = 0;
  double width = 0;  // 0 = no legend
};

LegendLayout layout_legend(const std::vector<LegendEntry>& entries, double available_height,
                           double max_width) {
  LegendLayout layout;
  if (entries.empty()) return layout;
  layout.rows_per_column = std::max(1, static_cast<int>(available_height / kLegendRowHeight));
  const int columns =
      static_cast<int>((entries.size() + static_cast<std::size_t>(layout.rows_per_column) - 1) /
                       static_cast<std::size_t>(layout.rows_per_column));
  double label_width = 0;
  for (const LegendEntry& e : entries) label_width = std::max(label_width, text_width(e.label, kLegendFont));
  const double per_column_overhead = kLegendSwatchWidth + kLegendGapAfterSwatch + kLegendColumnGap;
  const double label_budget = std::max(30.0, max_width / columns - per_column_overhead);
  label_width = std::min(label_width, label_budget);
  for (const LegendEntry& e : entries) layout.labels.push_back(fit_text(e.label, kLegendFont, label_budget));
  layout.column_width = per_column_overhead + label_width;
  layout.width = columns * layout.column_width - kLegendColumnGap;
  return layout;
}

void draw_legend(Svg& svg, const std::vector<LegendEntry>& entries, const LegendLayout& layout, double left,
                 double top) {
  svg.out += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto column = static_cast<double>(i / static_cast<std::size_t>(layout.rows_per_column));
    const auto row = static_cast<double>(i % static_cast<std::size_t>(layout.rows_per_column));
    const double x = left + column * layout.column_width;
    const double y = top + row * kLegendRowHeight + kLegendRowHeight / 2;
    const LegendEntry& e = entries[i];
    if (e.box) {
      svg.rect(
          x + 6, y - 5, 12, 10, e.style.color,
          e.box_outline.empty() ? "" : "stroke=\"" + xml_escape(e.box_outline) + "\" stroke-width=\"1\"");
    } else {
      svg.out += "<path d=\"M" + num(x) + " " + num(y) + "H" + num(x + kLegendSwatchWidth) + "\" " +
                 stroke_attributes(e.style, 2.2) + "/>\n";
      if (e.markers) svg.circle(x + kLegendSwatchWidth / 2, y, 3, e.style.color);
    }
    svg.text(x + kLegendSwatchWidth + kLegendGapAfterSwatch, y + 4, layout.labels[i], kLegendFont, "start");
  }
  svg.out += "</g>\n";
}

// ---------------------------------------------------------------------------------------------------
// Shared frame drawing: grid lines, ticks, tick labels, axis labels, title.

void draw_y_axis(Svg& svg, const Axis& axis, const Rect& plot) {
  for (const Tick& t : axis.ticks) {
    const double y = axis.pixel(t.value);
    const bool major = !t.label.empty();
    if (major) svg.line(plot.left, y, plot.right, y, kGridColor, 1);
    svg.line(plot.left - (major ? kTickLength : 3), y, plot.left, y, kFrameColor, 1);
    if (major) svg.text(plot.left - kTickLength - 3, y + kTickFont * 0.35, t.label, kTickFont, "end");
  }
}

void draw_x_axis(Svg& svg, const Axis& axis, const Rect& plot) {
  for (const Tick& t : axis.ticks) {
    const double x = axis.pixel(t.value);
    const bool major = !t.label.empty();
    if (major) svg.line(x, plot.top, x, plot.bottom, kGridColor, 1);
    svg.line(x, plot.bottom, x, plot.bottom + (major ? kTickLength : 3), kFrameColor, 1);
    if (major) svg.text(x, plot.bottom + kTickLength + kTickFont + 2, t.label, kTickFont, "middle");
  }
}

void draw_frame(Svg& svg, const Rect& plot) {
  svg.rect(plot.left, plot.top, plot.width(), plot.height(), "none",
           "stroke=\"" + std::string(kFrameColor) + "\" stroke-width=\"1\"");
}

void draw_titles(Svg& svg, std::string_view title, std::string_view x_label, std::string_view y_label,
                 const Rect& plot, double width, double height) {
  // Bold text runs ~10% wider than the estimate.
  if (!title.empty())
    svg.text(width / 2, 8 + kTitleFont, fit_text(std::string(title), kTitleFont * 1.1, width - 16),
             kTitleFont, "middle", "font-weight=\"bold\"");
  if (!x_label.empty())
    svg.text((plot.left + plot.right) / 2, height - 8,
             fit_text(std::string(x_label), kAxisLabelFont, width - 16), kAxisLabelFont, "middle");
  if (!y_label.empty()) {
    const double x = 8 + kAxisLabelFont, y = (plot.top + plot.bottom) / 2;
    svg.text(x, y, fit_text(std::string(y_label), kAxisLabelFont, plot.height() + 20), kAxisLabelFont,
             "middle", "transform=\"rotate(-90 " + num(x) + " " + num(y) + ")\"");
  }
}

void check_canvas(int width, int height, std::string_view title) {
  if (width < 160 || height < 120)
    throw ValueError("chart '" + std::string(title) + "': canvas " + std::to_string(width) + "x" +
                     std::to_string(height) + " is too small (at least 160x120)");
}

double top_margin(std::string_view title) { return title.empty() ? 14 : 16 + kTitleFont + 10; }

double bottom_margin_for_x_ticks(std::string_view x_label) {
  return kTickLength + kTickFont + 8 + (x_label.empty() ? 0 : kAxisLabelFont + 8);
}

double left_margin_for(const Axis& y_axis, std::string_view y_label) {
  return 8 + (y_label.empty() ? 0 : kAxisLabelFont + 8) + y_axis.max_label_width() + kTickLength + 5;
}

int target_ticks_for_height(double pixels) { return std::max(3, static_cast<int>(pixels / 50) + 1); }

// ---------------------------------------------------------------------------------------------------
// Line chart body (no <svg> wrapper, so grids can place several).

std::string line_chart_body(const LineChart& chart) {
  check_canvas(chart.width, chart.height, chart.title);
  check_limits(chart.x_min, chart.x_max, chart.x_scale, "x");
  check_limits(chart.y_min, chart.y_max, chart.y_scale, "y");
  const auto width = static_cast<double>(chart.width), height = static_cast<double>(chart.height);

  // Data ranges: x over accepted points, y over points whose x falls inside any x limits.
  DataRange x_range, y_range;
  auto x_of = [](const Series& s, std::size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; };
  auto accepted = [](Scale scale, double v) { return std::isfinite(v) && (scale == Scale::Linear || v > 0); };
  for (const Series& s : chart.series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw ValueError("chart '" + chart.title + "': series '" + s.label + "' has " +
                       std::to_string(s.x.size()) + " x values and " + std::to_string(s.y.size()) +
                       " y values");
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_of(s, i), y = s.y[i];
      if (!accepted(chart.x_scale, x) || !accepted(chart.y_scale, y)) continue;
      if ((chart.x_min && x < *chart.x_min) || (chart.x_max && x > *chart.x_max)) continue;
      x_range.add(x);
      y_range.add(y);
    }
  }
  for (const Band& band : chart.bands) {
    if (band.series >= chart.series.size())
      throw ValueError("chart '" + chart.title + "': a band belongs to series " +
                       std::to_string(band.series) + " of " + std::to_string(chart.series.size()));
    const Series& s = chart.series[band.series];
    if (band.low.size() != s.y.size() || band.high.size() != s.y.size())
      throw ValueError("chart '" + chart.title + "': the band of series '" + s.label + "' has " +
                       std::to_string(band.low.size()) + " low and " + std::to_string(band.high.size()) +
                       " high values for " + std::to_string(s.y.size()) + " points");
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_of(s, i);
      if (!accepted(chart.x_scale, x) || !accepted(chart.y_scale, band.low[i]) ||
          !accepted(chart.y_scale, band.high[i]))
        continue;
      if ((chart.x_min && x < *chart.x_min) || (chart.x_max && x > *chart.x_max)) continue;
      x_range.add(x);
      y_range.add(band.low[i]);
      y_range.add(band.high[i]);
    }
  }
  const bool has_data = x_range.any;
  bool x_integers = chart.x_scale == Scale::Linear && has_data;
  for (const Series& s : chart.series)
    for (std::size_t i = 0; i < s.y.size() && x_integers; ++i)
      if (accepted(chart.x_scale, x_of(s, i)) && x_of(s, i) != std::round(x_of(s, i))) x_integers = false;

  // Legend entries.
  const std::vector<LineStyle> styles = line_styles(chart.series);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < chart.series.size(); ++i)
    if (!chart.series[i].label.empty())
      legend.push_back({chart.series[i].label, styles[i], chart.series[i].markers, false, ""});

  // Layout: vertical first (fixed margins), then y ticks decide the left margin, the legend the right.
  Rect plot{};
  plot.top = top_margin(chart.title);
  plot.bottom = height - bottom_margin_for_x_ticks(chart.x_label);
  Axis y_axis =
      chart.y_scale == Scale::Log10
          ? make_log_axis(y_range, chart.y_min, chart.y_max, plot.height(), kTickFont * 1.9)
          : make_linear_axis(y_range, chart.y_min, chart.y_max, target_ticks_for_height(plot.height()), true);
  plot.left = left_margin_for(y_axis, chart.y_label);
  LegendLayout legend_layout = layout_legend(legend, plot.height(), width * 0.4);
  // On a canvas too narrow for both, the data wins over the legend.
  if (width - plot.left - 16 - legend_layout.width - 14 < kMinPlotWidth) legend_layout = {};

  Axis x_axis;
  // The x tick count depends on the plot width and the label widths; two passes settle it.
  double right_margin = 16;
  for (int pass = 0; pass < 2; ++pass) {
    plot.right = width - right_margin - (legend_layout.width > 0 ? legend_layout.width + 14 : 0);
    const double label_room = pass == 0 ? 80 : std::max(60.0, x_axis.max_label_width() + 20);
    x_axis = chart.x_scale == Scale::Log10
                 ? make_log_axis(x_range, chart.x_min, chart.x_max, plot.width(), label_room)
                 : make_linear_axis(x_range, chart.x_min, chart.x_max,
                                    std::max(2, static_cast<int>(plot.width() / label_room) + 1), false,
                                    x_integers);
    // The last x label is centred on the right edge; keep it clear of the legend / canvas edge.
    double overhang = 0;
    for (const Tick& t : x_axis.ticks)
      if (!t.label.empty()) overhang = text_width(t.label, kTickFont) / 2;
    right_margin = std::max(16.0, overhang + 6);
  }
  plot.right = width - right_margin - (legend_layout.width > 0 ? legend_layout.width + 14 : 0);
  plot.right = std::max(plot.right, plot.left + kMinPlotWidth);  // very long y labels: overflow, do not fail
  x_axis.pixel_lo = plot.left;
  x_axis.pixel_hi = plot.right;
  y_axis.pixel_lo = plot.bottom;
  y_axis.pixel_hi = plot.top;

  Svg svg;
  draw_y_axis(svg, y_axis, plot);
  draw_x_axis(svg, x_axis, plot);

  // Data, clipped to the plot area grown by a few pixels so lines on the edge keep their full width.
  const Rect clip{plot.left - 3, plot.top - 3, plot.right + 3, plot.bottom + 3};
  // Bands first, under every line: one closed polygon per run of points with both bounds valid. The
  // bounds are clamped to the plot area (y limits set by the caller may cut a band; x never exceeds it
  // but for explicit x limits, where points outside are dropped).
  for (const Band& band : chart.bands) {
    const std::size_t si = band.series;
    const Series& s = chart.series[si];
    auto clamp_y = [&](double v) { return std::clamp(y_axis.pixel(v), plot.top, plot.bottom); };
    std::vector<std::array<double, 3>> run;  // x, low, high in pixels
    auto flush = [&] {
      if (run.size() >= 2) {
        std::string d = "M" + num(run[0][0]) + " " + num(run[0][2]);
        for (std::size_t k = 1; k < run.size(); ++k) d += "L" + num(run[k][0]) + " " + num(run[k][2]);
        for (std::size_t k = run.size(); k-- > 0;) d += "L" + num(run[k][0]) + " " + num(run[k][1]);
        svg.out += "<path d=\"" + d + "Z\" fill=\"" + xml_escape(styles[si].color) +
                   "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
      }
      run.clear();
    };
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_of(s, i);
      const bool valid = x_axis.accepts(x) && x >= x_axis.lo && x <= x_axis.hi &&
                         y_axis.accepts(band.low[i]) && y_axis.accepts(band.high[i]);
      if (!valid) {
        flush();
        continue;
      }
      run.push_back({x_axis.pixel(x), clamp_y(band.low[i]), clamp_y(band.high[i])});
    }
    flush();
  }
  for (std::size_t si = 0; si < chart.series.size(); ++si) {
    const Series& s = chart.series[si];
    struct Point {
      bool valid;
      double x, y;
    };
    std::vector<Point> points;
    points.reserve(s.y.size());
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_of(s, i), y = s.y[i];
      if (x_axis.accepts(x) && y_axis.accepts(y))
        points.push_back({true, x_axis.pixel(x), y_axis.pixel(y)});
      else
        points.push_back({false, 0, 0});
    }
    std::string d;
    bool pen_down = false;
    double pen_x = 0, pen_y = 0;
    std::vector<Point> dots;  // isolated points, which a path would not show
    for (std::size_t i = 0; i < points.size(); ++i) {
      const Point& p = points[i];
      if (!p.valid) {
        pen_down = false;
        continue;
      }
      const bool prev_valid = i > 0 && points[i - 1].valid;
      const bool next_valid = i + 1 < points.size() && points[i + 1].valid;
      if (!prev_valid && !next_valid && inside(clip, p.x, p.y) && !s.markers) dots.push_back(p);
      if (!prev_valid) continue;
      double x0 = points[i - 1].x, y0 = points[i - 1].y, x1 = p.x, y1 = p.y;
      if (!clip_segment(x0, y0, x1, y1, clip)) {
        pen_down = false;
        continue;
      }
      if (!pen_down || std::abs(x0 - pen_x) > 0.01 || std::abs(y0 - pen_y) > 0.01)
        d += "M" + num(x0) + " " + num(y0);
      d += "L" + num(x1) + " " + num(y1);
      pen_down = true;
      pen_x = x1;
      pen_y = y1;
    }
    if (!d.empty()) svg.out += "<path d=\"" + d + "\" " + stroke_attributes(styles[si], kLineWidth) + "/>\n";
    for (const Point& p : dots) svg.circle(p.x, p.y, kLineWidth, styles[si].color);
    if (s.markers)
      for (const Point& p : points)
        if (p.valid && inside(clip, p.x, p.y)) svg.circle(p.x, p.y, 2.8, styles[si].color);
  }

  // Reference lines over the data: a curve along one (a loss stuck at ln 2) leaves it visible.
  for (std::size_t r = 0; r < chart.reference_y.size(); ++r) {
    const double ref = chart.reference_y[r];
    if (!y_axis.accepts(ref) || ref < y_axis.lo || ref > y_axis.hi) continue;
    const double y = y_axis.pixel(ref);
    svg.line(plot.left, y, plot.right, y, "#666666", 1.2, "stroke-dasharray=\"5 3\"");
    if (r < chart.reference_labels.size() && !chart.reference_labels[r].empty()) {
      // Above the line, or below it when the line runs along the top of the plot.
      const double text_y = y - 5 < plot.top + kTickFont ? y + kTickFont + 3 : y - 5;
      svg.text(plot.right - 4, text_y, chart.reference_labels[r], kTickFont, "end",
               "fill=\"#444444\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"");
    }
  }

  draw_frame(svg, plot);
  if (!has_data)
    svg.text((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2 + 5, "no data", 14, "middle",
             "fill=\"#888888\"");
  if (legend_layout.width > 0) draw_legend(svg, legend, legend_layout, plot.right + 14, plot.top);
  draw_titles(svg, chart.title, chart.x_label, chart.y_label, plot, width, height);
  return svg.out;
}

}  // namespace

// -----------------------------------------------------------------------------------------------------

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    throw ValueError("nice_ticks: range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] is not finite");
  if (lo > hi) std::swap(lo, hi);
  if (!std::isfinite(hi - lo))
    throw ValueError("nice_ticks: range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] is too wide");
  target_count = std::max(target_count, 2);
  // A (numerically) empty range gets +-10% around its value, or +-1 around zero.
  if (hi - lo <= std::max(std::abs(lo), std::abs(hi)) * 1e-12) {
    const double center = lo / 2 + hi / 2;
    const double half = center == 0 ? 1.0 : std::abs(center) * 0.1;
    lo = center - half;
    hi = center + half;
  }
  const double raw_step = (hi - lo) / (target_count - 1);
  int exponent = floor_exponent(raw_step);
  const double fraction = raw_step / pow10(exponent);
  int multiplier = fraction <= 1 + 1e-9 ? 1 : fraction <= 2 + 1e-9 ? 2 : fraction <= 5 + 1e-9 ? 5 : 10;
  if (multiplier == 10) {
    multiplier = 1;
    ++exponent;
  }
  // k * multiplier / 10^-e is exact for the usual decimal steps, where k * (multiplier * 10^e) is not.
  auto value = [&](double k) {
    if (exponent >= 0) return k * multiplier * pow10(exponent);
    if (exponent >= -300) return k * multiplier / pow10(-exponent);
    return k * multiplier * pow10(exponent);
  };
  const double step = multiplier * pow10(exponent);
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; k += 1) ticks.push_back(value(k));
  return ticks;
}

void dash_overlapping(std::vector<plot::Series>& series) {
  double lo = 0, hi = 0;
  for (const auto& s : series)
    for (const double y : s.y)
      if (std::isfinite(y)) {
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
  const double close = 0.01 * std::max(hi - lo, 1e-12);
  static const char* const kPatterns[] = {"7 4", "2 3", "10 3 2 3"};
  std::size_t dashed = 0;
  for (std::size_t i = 1; i < series.size(); ++i) {
    if (series[i].dashed || !series[i].dash.empty()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      std::size_t near = 0;
      const std::size_t n = std::min(series[i].y.size(), series[j].y.size());
      for (std::size_t k = 0; k < n; ++k) near += std::abs(series[i].y[k] - series[j].y[k]) <= close ? 1 : 0;
      if (n > 0 && 2 * near > n) {
        series[i].dash = kPatterns[dashed++ % std::size(kPatterns)];
        break;
      }
    }
  }
}

std::string palette_color(std::size_t index) { return kPalette[index % kPalette.size()]; }

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : decode_utf8(text)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows only tab, newline and carriage return below U+0020, and not U+FFFE/U+FFFF.
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF) break;
        detail::append_utf8(out, c);
    }
  }
  return out;
}

void save_svg(const std::filesystem::path& path, std::string_view svg) {
  std::error_code error;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
  write_file_atomically(path, svg);  // a failed write leaves the previous file intact
}

std::string render_svg(const LineChart& chart) {
  return document_open(chart.width, chart.height) + line_chart_body(chart) + "</svg>\n";
}

std::string render_svg_grid(std::span<const LineChart> panels, int columns, std::string_view title) {
  if (columns < 1)
    throw ValueError("render_svg_grid: columns must be at least 1, got " + std::to_string(columns));
  double cell_width = 0, cell_height = 0;
  for (const LineChart& panel : panels) {
    cell_width = std::max(cell_width, static_cast<double>(panel.width));
    cell_height = std::max(cell_height, static_cast<double>(panel.height));
  }
  const std::size_t per_row = static_cast<std::size_t>(columns);
  const std::size_t rows = (panels.size() + per_row - 1) / per_row;
  const double title_height = title.empty() ? 0 : 36;
  const double width = std::max(200.0, cell_width * static_cast<double>(std::min(per_row, panels.size())));
  const double height = std::max(60.0, title_height + cell_height * static_cast<double>(rows));
  Svg svg;
  if (!title.empty()) svg.text(width / 2, 24, title, kTitleFont + 1, "middle", "font-weight=\"bold\"");
  if (panels.empty()) svg.text(width / 2, height / 2 + 5, "no data", 14, "middle", "fill=\"#888888\"");
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const double x = cell_width * static_cast<double>(i % per_row);
    const double y = title_height + cell_height * static_cast<double>(i / per_row);
    svg.out += "<g transform=\"translate(" + num(x) + " " + num(y) + ")\">\n" + line_chart_body(panels[i]) +
               "</g>\n";
  }
  return document_open(width, height) + svg.out + "</svg>\n";
}

std::string render_svg(const BarChart& chart) {
  check_canvas(chart.width, chart.height, chart.title);
  check_limits(chart.y_min, chart.y_max, chart.y_scale, "y");
  const auto width = static_cast<double>(chart.width), height = static_cast<double>(chart.height);

  std::size_t bars_per_group = chart.bar_labels.size();
  for (const BarGroup& g : chart.groups) {
    if (!chart.bar_labels.empty() && g.values.size() > chart.bar_labels.size())
      throw ValueError("bar chart '" + chart.title + "': group '" + g.label + "' has " +
                       std::to_string(g.values.size()) + " values but there are " +
                       std::to_string(chart.bar_labels.size()) + " bar labels");
    bars_per_group = std::max(bars_per_group, g.values.size());
  }

  const Scale scale = chart.y_scale;
  DataRange y_range;
  if (scale == Scale::Linear) y_range.add(0);  // bars grow from zero
  bool has_data = false;
  for (const BarGroup& g : chart.groups)
    for (double v : g.values)
      if (std::isfinite(v) && (scale == Scale::Linear || v > 0)) {
        y_range.add(v);
        has_data = true;
      }

  std::vector<LegendEntry> legend;
  for (std::size_t b = 0; b < chart.bar_labels.size(); ++b) {
    const BarStyle style = bar_style(b);
    legend.push_back({chart.bar_labels[b], {style.fill, ""}, false, true, style.outline});
  }

  // Group labels: horizontal when they fit (thinned out if short, like layer numbers), else rotated.
  const double group_count = static_cast<double>(std::max<std::size_t>(1, chart.groups.size()));
  double max_group_label = 0;
  std::vector<std::string> group_labels;
  constexpr double kRotation = 40;
  const double sin_rotation = std::sin(kRotation * 3.14159265358979 / 180);
  // Long labels are shortened so that, rotated, they take at most a quarter of the height.
  const double group_label_budget = std::min(140.0, height * 0.25 / sin_rotation);
  for (const BarGroup& g : chart.groups) {
    group_labels.push_back(fit_text(g.label, kTickFont, group_label_budget));
    max_group_label = std::max(max_group_label, text_width(group_labels.back(), kTickFont));
  }
  const double estimated_group_width = (width * 0.75) / group_count;
  const bool rotate = max_group_label + 6 > estimated_group_width && max_group_label > 3 * kTickFont;
  const double label_height = rotate ? max_group_label * sin_rotation + kTickFont : kTickFont;

  Rect plot{};
  plot.top = top_margin(chart.title);
  plot.bottom = height - (kTickLength + label_height + 8 + (chart.x_label.empty() ? 0 : kAxisLabelFont + 8));
  plot.bottom = std::max(plot.bottom, plot.top + kMinPlotHeight);
  Axis y_axis =
      scale == Scale::Log10
          ? make_log_axis(y_range, chart.y_min, chart.y_max, plot.height(), kTickFont * 1.9)
          : make_linear_axis(y_range, chart.y_min, chart.y_max, target_ticks_for_height(plot.height()), true);
  plot.left = std::max(left_margin_for(y_axis, chart.y_label), rotate ? max_group_label * 0.77 + 8 : 0.0);
  LegendLayout legend_layout = layout_legend(legend, plot.height(), width * 0.4);
  if (width - plot.left - 16 - legend_layout.width - 14 < kMinPlotWidth) legend_layout = {};
  plot.right = width - 16 - (legend_layout.width > 0 ? legend_layout.width + 14 : 0);
  plot.right = std::max(plot.right, plot.left + kMinPlotWidth);
  y_axis.pixel_lo = plot.bottom;
  y_axis.pixel_hi = plot.top;

  Svg svg;
  draw_y_axis(svg, y_axis, plot);

  // Bars.
  const double group_width = plot.width() / group_count;
  const double used = bars_per_group > 1 ? 0.82 : 0.6;  // share of a group the bars take
  const double bar_width = group_width * used / static_cast<double>(std::max<std::size_t>(1, bars_per_group));
  const double bar_gap = bar_width > 6 ? 1 : 0;
  const double base_value = scale == Scale::Log10 ? y_axis.lo : std::clamp(0.0, y_axis.lo, y_axis.hi);
  const double base = y_axis.pixel(base_value);
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    const double group_left = plot.left + group_width * static_cast<double>(g) + group_width * (1 - used) / 2;
    for (std::size_t b = 0; b < chart.groups[g].values.size(); ++b) {
      const double v = chart.groups[g].values[b];
      if (!y_axis.accepts(v)) continue;
      const double top = std::clamp(std::min(y_axis.pixel(v), base), plot.top, plot.bottom);
      const double bottom = std::clamp(std::max(y_axis.pixel(v), base), plot.top, plot.bottom);
      if (bottom - top <= 0) continue;
      const BarStyle style = bar_style(b);
      // Outlines are drawn inside the bar (inset by half the stroke) so neighbours do not overlap.
      const double x = group_left + bar_width * static_cast<double>(b),
                   w = std::max(0.5, bar_width - bar_gap);
      if (style.outline.empty() || w < 3 || bottom - top < 3)
        svg.rect(x, top, w, bottom - top, style.fill);  // too thin for an outline: pale fill alone
      else
        svg.rect(x + 0.5, top + 0.5, w - 1, bottom - top - 1, style.fill,
                 "stroke=\"" + style.outline + "\" stroke-width=\"1\"");
    }
  }
  if (scale == Scale::Linear && base_value == 0.0 && y_axis.lo < 0)
    svg.line(plot.left, base, plot.right, base, "#666666", 1);

  // Group labels and separating ticks.
  const double spacing_needed = rotate ? kTickFont * 1.6 : max_group_label + 8;
  const std::size_t stride =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(spacing_needed / group_width)));
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    if (g % stride != 0) continue;
    const double x = plot.left + group_width * (static_cast<double>(g) + 0.5);
    svg.line(x, plot.bottom, x, plot.bottom + kTickLength, kFrameColor, 1);
    if (rotate) {
      const double y = plot.bottom + kTickLength + kTickFont * 0.9;
      svg.text(x, y, group_labels[g], kTickFont, "end",
               "transform=\"rotate(-" + num(kRotation) + " " + num(x) + " " + num(y) + ")\"");
    } else {
      svg.text(x, plot.bottom + kTickLength + kTickFont + 2, group_labels[g], kTickFont, "middle");
    }
  }

  draw_frame(svg, plot);
  if (!has_data)
    svg.text((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2 + 5, "no data", 14, "middle",
             "fill=\"#888888\"");
  if (legend_layout.width > 0) draw_legend(svg, legend, legend_layout, plot.right + 14, plot.top);
  draw_titles(svg, chart.title, chart.x_label, chart.y_label, plot, width, height);
  return document_open(width, height) + svg.out + "</svg>\n";
}

}  // namespace bend::plot
