#pragma once
// A tiny writer for one self-contained report page (index.html): title, headings, paragraphs, tables
// and images that reference SVG files next to the page. All text is HTML-escaped; the CSS is inline.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bend::plot {

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);

  // A section heading; level 2 (section) to 4. Level 1 is the page title.
  void heading(std::string_view text, int level = 2);
  // A paragraph; blank lines in the text start new paragraphs, and `text in backticks` is set as code.
  void paragraph(std::string_view text);
  // Monospaced block for command lines, configs and logs.
  void preformatted(std::string_view text);
  // A table with a header row. Rows shorter than the widest row are padded; cells that read as numbers
  // ("0.981", "-3e-5", "12%") are right-aligned so columns of figures line up.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // A paragraph that is one link: link("mnist/index.html", "the full report").
  void link(std::string_view href, std::string_view text);
  // An image, typically a chart SVG written next to the page: image("accuracy.svg", "test accuracy").
  void image(std::string_view src, std::string_view alt);

  std::string str() const;
  // Writes str() to path, creating missing parent directories. Throws IoError naming the path.
  void save(const std::filesystem::path& path) const;

 private:
  std::string title_;
  std::string body_;
};

// Escapes & < > " ' (and sanitises control characters and invalid UTF-8) for HTML text and attributes.
std::string html_escape(std::string_view text);

}  // namespace bend::plot
