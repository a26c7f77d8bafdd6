#pragma once
// `bend lab guide`: the docs' selection guide and properties table, row by row, each row with the
// experiments of `bend lab` that measured it, their numbers and verdicts. Rows name experiments by their
// table name; a name the table does not hold (yet) shows as "not measured yet", one that was not run as
// "not run", and a claim no experiment can test says why.
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/lab/claims.hpp"

namespace bend::lab {

struct GuideRow {
  std::string_view table;                     // "selection guide", "short table", "properties"
  std::string_view topic;                     // "Mobile / edge inference"
  std::string_view docs_say;                  // the docs' words for the row
  std::vector<std::string_view> experiments;  // by name, in the order they are shown
  std::string_view untested;                  // why the row has no experiment (empty when it has)
};

// The rows, in the docs' order.
std::span<const GuideRow> guide_rows();

// One experiment's state for a row: "<name>: <verdict>", "<name>: not run" or "<name>: not measured yet".
struct GuideCell {
  std::string name, verdict, measured;  // measured empty unless it ran
  bool in_table = false, ran = false;
};
std::vector<GuideCell> guide_cells(const GuideRow& row, std::span<const LabResult> results);

// The guide as a table: {"table", "row", "the docs say", "measured by", "verdicts"}; `with_numbers` adds
// each experiment's measured line (the page and the Markdown; the terminal leaves it out).
std::vector<std::string> guide_header();
std::vector<std::vector<std::string>> guide_table(std::span<const LabResult> results, bool with_numbers);

// Writes guide.md and guide.html into dir; returns them.
std::vector<std::filesystem::path> write_guide(std::span<const LabResult> results,
                                               const std::filesystem::path& dir);

}  // namespace bend::lab
