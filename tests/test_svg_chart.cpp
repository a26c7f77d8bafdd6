// Tests for the SVG chart writer and the HTML report: tick selection, well-formed output, escaping,
// skipped non-finite points, log-axis labels, legends, error reporting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "bend/error.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend::plot;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '-' || c == '.';
}

// Checks an entity reference at doc[i] == '&'; returns its length or 0 if invalid.
std::size_t entity_length(const std::string& doc, std::size_t i) {
  const auto end = doc.find(';', i);
  if (end == std::string::npos || end - i > 10) return 0;
  const std::string name = doc.substr(i + 1, end - i - 1);
  bool valid = name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos";
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x';
    const std::string digits = name.substr(hex ? 2 : 1);
    valid = !digits.empty() && std::all_of(digits.begin(), digits.end(), [&](char c) {
      return hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                 : std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
  }
  return valid ? end - i + 1 : 0;
}

// True if some number in the text has three or more decimals ("12.345").
bool has_long_decimal(const std::string& text) {
  for (std::size_t i = 1; i + 3 < text.size(); ++i)
    if (text[i] == '.' && std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 3])))
      return true;
  return false;
}

// A minimal XML well-formedness check: one root element, balanced and properly nested tags, quoted
// attributes without '<' or duplicates, valid entity references. Returns "" or what is wrong.
std::string xml_problem(const std::string& doc) {
  std::vector<std::string> open;
  bool root_closed = false, root_seen = false;
  std::size_t i = 0;
  auto where = [&](std::size_t at) { return " at offset " + std::to_string(at); };
  while (i < doc.size()) {
    const char c = doc[i];
    if (c == '&') {
      const std::size_t length = entity_length(doc, i);
      if (length == 0) return "bad entity" + where(i);
      i += length;
      continue;
    }
    if (c != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(c)))
        return "text outside the root" + where(i);
      ++i;
      continue;
    }
    if (doc.compare(i, 2, "<?") == 0) {
      const auto end = doc.find("?>", i);
      if (end == std::string::npos) return "unterminated <?" + where(i);
      i = end + 2;
      continue;
    }
    if (doc.compare(i, 4, "<!--") == 0) {
      const auto end = doc.find("-->", i);
      if (end == std::string::npos) return "unterminated comment" + where(i);
      i = end + 3;
      continue;
    }
    std::size_t p = i + 1;
    const bool closing = p < doc.size() && doc[p] == '/';
    if (closing) ++p;
    const std::size_t name_start = p;
    while (p < doc.size() && is_name_char(doc[p])) ++p;
    const std::string name = doc.substr(name_start, p - name_start);
    if (name.empty()) return "missing tag name" + where(i);
    if (closing) {
      while (p < doc.size() && std::isspace(static_cast<unsigned char>(doc[p]))) ++p;
      if (p >= doc.size() || doc[p] != '>') return "bad closing tag" + where(i);
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">" + where(i);
      open.pop_back();
      if (open.empty()) root_closed = true;
      i = p + 1;
      continue;
    }
    if (root_closed) return "second root element" + where(i);
    root_seen = true;
    std::vector<std::string> attributes;
    for (;;) {
      while (p < doc.size() && std::isspace(static_cast<unsigned char>(doc[p]))) ++p;
      if (p >= doc.size()) return "unterminated tag" + where(i);
      if (doc.compare(p, 2, "/>") == 0) {
        p += 2;
        if (open.empty()) root_closed = true;
        break;
      }
      if (doc[p] == '>') {
        open.push_back(name);
        ++p;
        break;
      }
      const std::size_t attribute_start = p;
      while (p < doc.size() && is_name_char(doc[p])) ++p;
      const std::string attribute = doc.substr(attribute_start, p - attribute_start);
      if (attribute.empty()) return "bad attribute" + where(p);
      for (const auto& seen : attributes)
        if (seen == attribute) return "duplicate attribute " + attribute + where(p);
      attributes.push_back(attribute);
      if (p >= doc.size() || doc[p] != '=') return "attribute without value" + where(p);
      ++p;
      if (p >= doc.size() || (doc[p] != '"' && doc[p] != '\'')) return "unquoted attribute" + where(p);
      const char quote = doc[p++];
      while (p < doc.size() && doc[p] != quote) {
        if (doc[p] == '<') return "'<' in attribute" + where(p);
        if (doc[p] == '&') {
          const std::size_t length = entity_length(doc, p);
          if (length == 0) return "bad entity in attribute" + where(p);
          p += length;
        } else {
          ++p;
        }
      }
      if (p >= doc.size()) return "unterminated attribute" + where(p);
      ++p;
    }
    i = p;
  }
  if (!root_seen) return "no root element";
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return "";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

std::string legend_of(const std::string& svg) {
  const auto start = svg.find("<g class=\"legend\">");
  if (start == std::string::npos) return "";
  return svg.substr(start, svg.find("</g>", start) - start);
}

// The step between ticks is 1, 2 or 5 times a power of ten, and all steps are equal.
void check_nice(const std::vector<double>& ticks, double lo, double hi) {
  REQUIRE(ticks.size() >= 2);
  CHECK(ticks.front() <= lo);
  CHECK(ticks.back() >= hi);
  const double step = ticks[1] - ticks[0];
  REQUIRE(step > 0);
  for (std::size_t i = 1; i < ticks.size(); ++i) CHECK(ticks[i] - ticks[i - 1] == Approx(step).epsilon(1e-9));
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  CHECK((mantissa == Approx(1) || mantissa == Approx(2) || mantissa == Approx(5)));
}

LineChart accuracy_chart() {
  LineChart chart;
  chart.title = "Test accuracy";
  chart.x_label = "epoch";
  chart.y_label = "accuracy";
  for (int a = 0; a < 13; ++a) {
    Series s;
    s.label = "act" + std::to_string(a);
    s.markers = a % 2 == 0;
    for (int epoch = 1; epoch <= 5; ++epoch) {
      s.x.push_back(epoch);
      s.y.push_back(0.85 + 0.01 * a * epoch / 5.0 + 0.0123456789 * epoch / 5.0);
    }
    chart.series.push_back(s);
  }
  return chart;
}

}  // namespace

TEST_CASE("nice_ticks picks 1-2-5 steps covering the range", "[plot]") {
  const auto unit = nice_ticks(0, 1, 6);
  REQUIRE(unit.size() == 6);
  CHECK(unit[3] == 0.6);  // exactly, not 0.6000000000000001
  CHECK(unit.back() == 1.0);

  const std::vector<std::pair<double, double>> ranges = {{0.85, 0.99},    {0, 1},       {-7.3, -2.1},
                                                         {-5, 5},         {1e-9, 3e-9}, {0, 3e12},
                                                         {-1e300, 1e300}, {1, 1000},    {0.1, 0.100001}};
  for (auto [lo, hi] : ranges) {
    for (int target : {2, 5, 8, 12}) {
      INFO("range [" << lo << ", " << hi << "] target " << target);
      const auto ticks = nice_ticks(lo, hi, target);
      check_nice(ticks, lo, hi);
      CHECK(ticks.size() <= static_cast<std::size_t>(target) + 2);
    }
  }
  CHECK(nice_ticks(0.85, 0.99, 6) == std::vector<double>{0.85, 0.9, 0.95, 1.0});
  CHECK(nice_ticks(-7.3, -2.1, 6) == std::vector<double>{-8, -6, -4, -2});
  CHECK(nice_ticks(-7.3, -2.1, 10) == std::vector<double>{-8, -7, -6, -5, -4, -3, -2});
}

TEST_CASE("nice_ticks handles lo == hi, reversed and non-finite input", "[plot]") {
  const auto around_five = nice_ticks(5, 5, 5);
  check_nice(around_five, 5, 5);
  CHECK(around_five.front() < 5);
  CHECK(around_five.back() > 5);
  const auto around_zero = nice_ticks(0, 0, 5);
  check_nice(around_zero, 0, 0);
  CHECK(around_zero.front() < 0);
  const auto tiny = nice_ticks(1e-300, 1e-300, 5);
  check_nice(tiny, 1e-300, 1e-300);
  CHECK(nice_ticks(1, 0, 6) == nice_ticks(0, 1, 6));
  CHECK_THROWS_AS(nice_ticks(kNaN, 1, 5), bend::ValueError);
  CHECK_THROWS_AS(nice_ticks(0, kInf, 5), bend::ValueError);
}

TEST_CASE("line charts are well-formed standalone SVG with compact numbers", "[plot]") {
  const LineChart chart = accuracy_chart();
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("viewBox=\"0 0 720 440\"") != std::string::npos);
  CHECK(svg.find("width=\"720\"") != std::string::npos);
  // Pixel coordinates carry at most two decimals; no float noise anywhere.
  CHECK_FALSE(has_long_decimal(svg));
  // Tick labels: integer epochs, accuracy in steps of a nice size.
  CHECK(svg.find(">3</text>") != std::string::npos);
  CHECK(svg.find(">2.5</text>") == std::string::npos);
  CHECK(svg.find(">0.90</text>") != std::string::npos);
  CHECK(svg.find(">Test accuracy</text>") != std::string::npos);
}

TEST_CASE("the legend has one entry per labelled series", "[plot]") {
  LineChart chart = accuracy_chart();
  std::string legend = legend_of(render_svg(chart));
  CHECK(count(legend, "<text") == 13);
  for (const Series& s : chart.series) CHECK(count(legend, ">" + s.label + "</text>") == 1);

  chart.series[4].label.clear();  // unlabelled series get no entry
  legend = legend_of(render_svg(chart));
  CHECK(count(legend, "<text") == 12);

  // 26 series still fit (in two columns) and stay well-formed.
  LineChart many;
  for (int k = 0; k < 26; ++k)
    many.series.push_back({"series " + std::to_string(k), {0, 1}, {0.0 + k, 1.0 + k}, "", false, false, ""});
  const std::string svg = render_svg(many);
  CHECK(xml_problem(svg) == "");
  CHECK(count(legend_of(svg), "<text") == 26);
}

TEST_CASE("non-finite points break the line instead of corrupting the path", "[plot]") {
  LineChart chart;
  chart.series.push_back({"s", {0, 1, 2, 3, 4, 5}, {1, 2, kNaN, 3, kInf, 4}, "", false, false, ""});
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  const auto path_start = svg.find("<path d=\"");
  REQUIRE(path_start != std::string::npos);
  const auto d_start = path_start + 9;
  const std::string d = svg.substr(d_start, svg.find('"', d_start) - d_start);
  CHECK(count(d, "M") == 1);  // only 0-1 is a segment; 3 and 5 are isolated points
  CHECK(count(d, "L") == 1);
  CHECK(count(svg, "<circle") == 2);  // isolated points are drawn as dots

  // A NaN x is skipped the same way.
  LineChart x_nan;
  x_nan.series.push_back({"s", {0, 1, kNaN, 3, 4}, {1, 2, 3, 4, 5}, "", false, false, ""});
  const std::string svg2 = render_svg(x_nan);
  CHECK(xml_problem(svg2) == "");
  CHECK(svg2.find("nan") == std::string::npos);
}

TEST_CASE("bands shade mean ± std under the lines, break at non-finite bounds and widen the y range",
          "[plot]") {
  LineChart chart;
  chart.series.push_back({"relu", {1, 2, 3, 4}, {0.90, 0.95, 0.96, 0.97}, "#123456", false, false, ""});
  chart.series.push_back({"gelu", {1, 2, 3, 4}, {0.91, 0.95, 0.97, 0.98}, "", false, false, ""});
  // relu's band reaches 0.80 at epoch 1, below every mean: the y axis must show it.
  chart.bands.push_back({0, {0.80, 0.94, kNaN, 0.96}, {1.00, 0.96, kNaN, 0.98}});
  chart.bands.push_back({1, {0.90, 0.94, 0.96, 0.97}, {0.92, 0.96, 0.98, 0.99}});
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find(">0.80</text>") != std::string::npos);
  CHECK(svg.find(">1.00</text>") != std::string::npos);
  // relu: the NaN at epoch 3 splits its band into 1-2 (drawn) and 4 alone (too short to fill); gelu: one
  // band.
  CHECK(count(svg, "fill-opacity=\"0.15\"") == 2);
  CHECK(count(svg, "fill=\"#123456\" fill-opacity") == 1);
  // Bands come before every line so the lines stay on top.
  CHECK(svg.rfind("fill-opacity") < svg.find("stroke-width=\"1.8\""));
  // The legend does not list bands.
  CHECK(count(legend_of(svg), "<text") == 2);

  LineChart wrong_length = chart;
  wrong_length.bands[0].low.pop_back();
  CHECK_THROWS_AS(render_svg(wrong_length), bend::ValueError);
  LineChart wrong_series = chart;
  wrong_series.bands[0].series = 2;
  CHECK_THROWS_AS(render_svg(wrong_series), bend::ValueError);
}

TEST_CASE("log axes label decades and skip non-positive values", "[plot]") {
  LineChart chart;
  chart.y_scale = Scale::Log10;
  std::vector<double> x, sigmoid, relu;
  for (int layer = 1; layer <= 20; ++layer) {
    x.push_back(layer);
    sigmoid.push_back(1e-14 * std::pow(1e15, (layer - 1) / 19.0));
    relu.push_back(layer == 7 ? 0.0 : layer == 8 ? -1.0 : 0.1);
  }
  chart.series.push_back({"sigmoid", x, sigmoid, "", false, false, ""});
  chart.series.push_back({"relu", x, relu, "", false, true, ""});
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(">1e-12</text>") != std::string::npos);
  CHECK(svg.find(">1e-14</text>") != std::string::npos);
  CHECK(svg.find(">1e0</text>") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  // relu markers minus its two non-positive values, plus the legend swatch's marker.
  CHECK(count(svg, "<circle") == 18 + 1);

  // A narrow range uses plain numbers and labels 2 and 5 as well.
  LineChart narrow;
  narrow.y_scale = Scale::Log10;
  narrow.series.push_back({"loss", {0, 1, 2}, {2.3, 0.5, 0.05}, "", false, false, ""});
  const std::string narrow_svg = render_svg(narrow);
  CHECK(narrow_svg.find(">0.01</text>") != std::string::npos);
  CHECK(narrow_svg.find(">0.5</text>") != std::string::npos);
  CHECK(narrow_svg.find(">10</text>") != std::string::npos);

  LineChart bad = chart;
  bad.y_min = 0;
  CHECK_THROWS_AS(render_svg(bad), bend::ValueError);
}

TEST_CASE("text is XML-escaped everywhere", "[plot]") {
  CHECK(xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(xml_escape("bell\x07 ok") == "bell ok");                  // not allowed in XML 1.0
  CHECK(xml_escape("bad \xff byte") == "bad \xef\xbf\xbd byte");  // invalid UTF-8 becomes U+FFFD
  CHECK(xml_escape("f\xe2\x80\xb2(x)") == "f\xe2\x80\xb2(x)");    // valid UTF-8 passes through

  LineChart chart;
  chart.title = "<script>alert('x')</script> & co";
  chart.x_label = "a<b";
  chart.y_label = "\"q\"";
  chart.series.push_back({"x<y & z", {0, 1}, {0, 1}, "", false, false, ""});
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("<script>") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;") != std::string::npos);
  CHECK(svg.find(">x&lt;y &amp; z</text>") != std::string::npos);
}

TEST_CASE("charts without data still draw axes and say so", "[plot]") {
  LineChart empty;
  empty.title = "empty";
  std::string svg = render_svg(empty);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(">no data</text>") != std::string::npos);
  CHECK(svg.find(">0.0</text>") != std::string::npos);  // axes with ticks

  LineChart all_nan;
  all_nan.series.push_back({"s", {0, 1}, {kNaN, kNaN}, "", false, false, ""});
  svg = render_svg(all_nan);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(">no data</text>") != std::string::npos);

  BarChart bars;
  svg = render_svg(bars);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(">no data</text>") != std::string::npos);

  CHECK(xml_problem(render_svg_grid({}, 3)) == "");
}

TEST_CASE("line chart limits, reference lines and input errors", "[plot]") {
  LineChart chart;
  chart.series.push_back({"s", {0, 1, 2}, {-0.5, 0.5, 1.5}, "", false, false, ""});
  chart.reference_y = {0, 100};  // the second is outside the axis and not drawn
  chart.y_min = -1;
  chart.y_max = 1;  // 1.5 is clipped at the top
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  CHECK(count(svg, "stroke-dasharray=\"5 3\"") == 1);
  // Drawn over the data, so a curve along it (a loss stuck at ln 2) never hides it; labelled when asked.
  CHECK(svg.find("stroke-dasharray=\"5 3\"") > svg.find("<path d=\"M"));  // after the series' line
  chart.reference_labels = {"chance"};
  const std::string labelled = render_svg(chart);
  CHECK(xml_problem(labelled) == "");
  CHECK(labelled.find(">chance</text>") != std::string::npos);
  CHECK(svg.find(">-1.0</text>") != std::string::npos);
  CHECK(svg.find(">1.0</text>") != std::string::npos);

  LineChart mismatched;
  mismatched.series.push_back({"s", {0, 1, 2}, {1, 2}, "", false, false, ""});
  CHECK_THROWS_AS(render_svg(mismatched), bend::ValueError);
  LineChart inverted;
  inverted.y_min = 2;
  inverted.y_max = 1;
  CHECK_THROWS_AS(render_svg(inverted), bend::ValueError);
  LineChart tiny;
  tiny.width = 10;
  CHECK_THROWS_AS(render_svg(tiny), bend::ValueError);
}

TEST_CASE("curves along an earlier one get dashes of their own", "[plot]") {
  std::vector<double> x, relu, leaky, relu6, sigmoid;
  for (int i = -50; i <= 50; ++i) {
    const double v = i / 10.0;
    x.push_back(v);
    relu.push_back(std::max(v, 0.0));
    leaky.push_back(v > 0 ? v : 0.01 * v);
    relu6.push_back(std::min(std::max(v, 0.0), 6.0));
    sigmoid.push_back(1 / (1 + std::exp(-v)));
  }
  std::vector<Series> series = {{"relu", x, relu, "", false, false, ""},
                                {"sigmoid", x, sigmoid, "", false, false, ""},
                                {"leaky_relu", x, leaky, "", false, false, ""},
                                {"relu6", x, relu6, "", false, false, ""}};
  dash_overlapping(series);
  CHECK(series[0].dash.empty());  // the first of its kind stays solid
  CHECK(series[1].dash.empty());  // sigmoid is near relu at fewer than half of the points
  CHECK_FALSE(series[2].dash.empty());
  CHECK_FALSE(series[3].dash.empty());
  CHECK(series[2].dash != series[3].dash);  // each overlapping curve its own pattern
  LineChart chart;
  chart.series = series;
  const std::string svg = render_svg(chart);
  CHECK(svg.find("stroke-dasharray=\"" + series[2].dash + "\"") != std::string::npos);
}

TEST_CASE("grouped bar charts draw one bar per finite value", "[plot]") {
  BarChart chart;
  chart.title = "Dead fraction";
  chart.bar_labels = {"relu", "gelu", "tanh"};
  for (int layer = 1; layer <= 4; ++layer)
    chart.groups.push_back({"layer " + std::to_string(layer), {0.1 * layer, 0.02, layer == 2 ? kNaN : 0.0}});
  const std::string svg = render_svg(chart);
  CHECK(xml_problem(svg) == "");
  const std::string legend = legend_of(svg);
  CHECK(count(legend, "<text") == 3);
  // Background + frame + legend swatches + bars (zero-height bars and NaN draw nothing).
  const std::size_t bars = count(svg, "<rect") - 2 - 3;
  CHECK(bars == 8);
  CHECK(svg.find(">layer 3</text>") != std::string::npos);

  chart.groups[0].values.push_back(1.0);  // more values than labels
  CHECK_THROWS_AS(render_svg(chart), bend::ValueError);

  BarChart log_bars;
  log_bars.y_scale = Scale::Log10;
  log_bars.groups.push_back({"a", {1e-6}});
  log_bars.groups.push_back({"b", {0.0}});
  const std::string log_svg = render_svg(log_bars);
  CHECK(xml_problem(log_svg) == "");
  CHECK(log_svg.find(">1e-6</text>") != std::string::npos);
}

TEST_CASE("grids place every panel in one document", "[plot]") {
  std::vector<LineChart> panels;
  for (const char* name : {"sigmoid", "tanh", "relu"}) {
    LineChart panel;
    panel.title = name;
    panel.width = 300;
    panel.height = 220;
    panel.series.push_back({"f", {-5, 0, 5}, {0, 0.5, 1}, "", false, false, ""});
    panel.series.push_back({"f'", {-5, 0, 5}, {0, 0.25, 0}, "", true, false, ""});
    panels.push_back(panel);
  }
  const std::string svg = render_svg_grid(panels, 2, "Activations");
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("width=\"600\" height=\"476\"") != std::string::npos);  // 2 columns, 2 rows, title
  for (const char* name : {"sigmoid", "tanh", "relu"})
    CHECK(count(svg, std::string(">") + name + "</text>") == 1);
  CHECK(count(svg, "<g class=\"legend\">") == 3);
  CHECK_THROWS_AS(render_svg_grid(panels, 0), bend::ValueError);
}

TEST_CASE("save_svg writes the document and reports unwritable paths", "[plot]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_svg_chart";
  std::filesystem::remove_all(dir);
  const auto path = dir / "nested" / "chart.svg";
  const std::string svg = render_svg(accuracy_chart());
  save_svg(path, svg);
  std::ifstream file(path, std::ios::binary);
  std::stringstream read;
  read << file.rdbuf();
  CHECK(read.str() == svg);
  CHECK_THROWS_AS(save_svg(dir / "nested", svg), bend::IoError);  // a directory
  std::filesystem::remove_all(dir);
}

TEST_CASE("HtmlReport escapes text and builds tables and images", "[plot]") {
  HtmlReport report("Lab <report> & more");
  report.heading("Accuracy");
  report.paragraph("first & only\n\nsecond <b>");
  report.table({"activation", "accuracy", "note"},
               {{"relu", "0.981", "fast"}, {"gelu", "12%"}, {"<x>", "-3e-5", "a", "extra"}});
  report.image("accuracy.svg", "test \"accuracy\"");
  report.preformatted("bend lab --depth 20 <cfg>");
  const std::string html = report.str();
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<title>Lab &lt;report&gt; &amp; more</title>") != std::string::npos);
  CHECK(html.find("<h2>Accuracy</h2>") != std::string::npos);
  CHECK(html.find("<p>first &amp; only</p>") != std::string::npos);
  CHECK(html.find("<p>second &lt;b&gt;</p>") != std::string::npos);
  CHECK(html.find("<th>activation</th><th>accuracy</th><th>note</th><th></th>") != std::string::npos);
  CHECK(html.find("<td>relu</td><td class=\"num\">0.981</td><td>fast</td><td></td>") != std::string::npos);
  CHECK(html.find("<td class=\"num\">12%</td>") != std::string::npos);
  CHECK(html.find("<td>&lt;x&gt;</td><td class=\"num\">-3e-5</td>") != std::string::npos);
  CHECK(html.find("<img src=\"accuracy.svg\" alt=\"test &quot;accuracy&quot;\">") != std::string::npos);
  CHECK(html.find("<pre>bend lab --depth 20 &lt;cfg&gt;</pre>") != std::string::npos);
  CHECK(count(html, "<tr>") == 4);
  CHECK(html.find("sans-serif") != std::string::npos);

  // `backticks` in a paragraph are code, as in Markdown; a lone one stays as it is.
  HtmlReport code("code");
  code.paragraph("measured by `bend lab` and `x < y`; a lone ` stays");
  code.link("mnist/index.html", "the full report");
  CHECK(
      code.str().find("<p>measured by <code>bend lab</code> and <code>x &lt; y</code>; a lone ` stays</p>") !=
      std::string::npos);
  CHECK(code.str().find("<p><a href=\"mnist/index.html\">the full report</a></p>") != std::string::npos);
  CHECK(html_escape("'") == "&apos;");
}

}  // namespace BEND_UNITY_ID
