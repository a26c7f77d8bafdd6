#pragma once
// Small chart and formatting helpers shared by the claim experiments (src/lab/*.cpp); not installed.
#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <vector>

#include "bend/lab/claims.hpp"
#include "bend/plot/svg_chart.hpp"

namespace bend::lab::detail {

inline plot::Series series(std::string label, std::vector<double> x, std::vector<double> y, std::size_t color,
                           bool markers = true) {
  plot::Series s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  s.color = plot::palette_color(color);
  s.markers = markers;
  return s;
}

inline plot::LineChart chart(std::string title, std::string x_label, std::string y_label) {
  plot::LineChart c;
  c.title = std::move(title);
  c.x_label = std::move(x_label);
  c.y_label = std::move(y_label);
  return c;
}

// 1, 2, ..., n
inline std::vector<double> one_to(std::size_t n) {
  std::vector<double> x;
  for (std::size_t i = 1; i <= n; ++i) x.push_back(static_cast<double>(i));
  return x;
}

inline std::vector<double> percent(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(100 * x);
  return out;
}

inline std::string pct(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

inline Chart svg_chart(std::string file, std::string caption, const plot::LineChart& c) {
  return {std::move(file), std::move(caption), plot::render_svg(c)};
}

}  // namespace bend::lab::detail
