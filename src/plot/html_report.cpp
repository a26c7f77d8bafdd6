// HtmlReport: builds the body as a string and wraps it in a page with a small inline stylesheet.
#include "bend/plot/html_report.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/plot/svg_chart.hpp"

namespace bend::plot {
namespace {

constexpr const char* kStyle =
    R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.5;background:#fff}
h1{font-size:1.7em;margin-bottom:.4em;border-bottom:2px solid #ddd;padding-bottom:.3em}
h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #eee;padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.5em}h4{font-size:1em}
.table-wrap{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .7em;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}
tbody tr:nth-child(even){background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1.2em 0}
img{max-width:100%;height:auto;display:block}
code{background:#f3f4f6;border-radius:3px;padding:0 .25em;font-size:.92em}
pre{background:#f6f8fa;border:1px solid #e5e7eb;padding:.8em 1em;overflow-x:auto;font-size:.88em}
)";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// A number as from_chars reads it ("0.981", "-3e-5", "nan"), optionally followed by % or x ("2.5x").
bool looks_numeric(std::string_view cell) {
  cell = trim(cell);
  if (!cell.empty() && (cell.back() == '%' || cell.back() == 'x')) cell.remove_suffix(1);
  if (!cell.empty() && cell.front() == '+') cell.remove_prefix(1);
  if (cell.empty()) return false;
  double value = 0;
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  return error == std::errc{} && end == cell.data() + cell.size();
}

// Escaped text with each pair of backticks made a <code> span, as Markdown writes them: `bend lab`
// becomes <code>bend lab</code>. A backtick without a partner stays as it is.
std::string with_code_spans(const std::string& escaped) {
  std::string out;
  std::size_t at = 0;
  while (at < escaped.size()) {
    const std::size_t open = escaped.find('`', at);
    const std::size_t close = open == std::string::npos ? open : escaped.find('`', open + 1);
    if (close == std::string::npos) {
      out += escaped.substr(at);
      break;
    }
    out += escaped.substr(at, open - at);
    if (close == open + 1)
      out += "``";  // nothing between them: not a span
    else
      out += "<code>" + escaped.substr(open + 1, close - open - 1) + "</code>";
    at = close + 1;
  }
  return out;
}

}  // namespace

std::string html_escape(std::string_view text) { return xml_escape(text); }

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::heading(std::string_view text, int level) {
  const char digit = static_cast<char>('0' + std::clamp(level, 2, 4));
  // Appended piecewise: GCC 12 at -O3 warns falsely (-Wrestrict) about "<" + std::string concatenation.
  body_ += "<h";
  body_ += digit;
  body_ += '>';
  body_ += html_escape(text);
  body_ += "</h";
  body_ += digit;
  body_ += ">\n";
}

void HtmlReport::link(std::string_view href, std::string_view text) {
  body_ += "<p><a href=\"" + html_escape(href) + "\">" + html_escape(text) + "</a></p>\n";
}

void HtmlReport::paragraph(std::string_view text) {
  // Split on blank lines so one call can carry several paragraphs.
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = trim(text.substr(start, end - start));
    if (!part.empty()) body_ += "<p>" + with_code_spans(html_escape(part)) + "</p>\n";
    start = end + 2;
  }
}

void HtmlReport::preformatted(std::string_view text) { body_ += "<pre>" + html_escape(text) + "</pre>\n"; }

void HtmlReport::table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::size_t columns = header.size();
  for (const auto& row : rows) columns = std::max(columns, row.size());
  body_ += "<div class=\"table-wrap\"><table>\n";
  if (!header.empty()) {
    body_ += "<thead><tr>";
    for (std::size_t c = 0; c < columns; ++c)
      body_ += "<th>" + (c < header.size() ? html_escape(header[c]) : "") + "</th>";
    body_ += "</tr></thead>\n";
  }
  body_ += "<tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string cell = c < row.size() ? row[c] : std::string();
      body_ += looks_numeric(cell) ? "<td class=\"num\">" : "<td>";
      body_ += html_escape(cell) + "</td>";
    }
    body_ += "</tr>\n";
  }
  body_ += "</tbody></table></div>\n";
}

void HtmlReport::image(std::string_view src, std::string_view alt) {
  body_ += "<figure><img src=\"" + html_escape(src) + "\" alt=\"" + html_escape(alt) + "\"></figure>\n";
}

std::string HtmlReport::str() const {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // No icon of its own: an empty one, so a browser does not ask the server for /favicon.ico (a 404
         // in the console of every report served over HTTP).
         "<link rel=\"icon\" href=\"data:,\">\n<title>" +
         html_escape(title_) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
         html_escape(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
}

void HtmlReport::save(const std::filesystem::path& path) const {
  std::error_code error;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
  const std::string page = str();
  write_file_atomically(path, page);  // a failed write leaves the previous file intact
}

}  // namespace bend::plot
