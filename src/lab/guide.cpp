// bend lab guide: the docs' tables row by row with the experiments that measured them
// (see bend/lab/guide.hpp).
#include "bend/lab/guide.hpp"

#include <fmt/format.h>

#include <fstream>

#include "bend/error.hpp"
#include "bend/plot/html_report.hpp"

namespace bend::lab {

namespace {

const std::vector<GuideRow>& all_guide_rows() {
  static const std::vector<GuideRow> kRows = {
      // The practical selection guide (docs, "Practical Selection Guide").
      {"selection guide",
       "Default hidden layers",
       "ReLU, then try GELU or SiLU",
       {"collapse", "xor", "vanishing", "init", "relu-sparsity", "dying-relu"},
       ""},
      {"selection guide",
       "Transformers / NLP",
       "GELU (BERT, GPT), SiLU (LLaMA)",
       {"transformer", "gelu-noise", "silu-twin", "dip"},
       ""},
      {"selection guide", "Mobile / edge inference", "ReLU6, Hardswish, Hardsigmoid", {"cost"}, ""},
      {"selection guide", "Multi-class output", "Softmax", {"output-activations"}, ""},
      {"selection guide", "Binary output", "Sigmoid", {"output-activations"}, ""},
      {"selection guide", "Large vocabulary NLP", "AdaptiveLogSoftmax", {"large-vocab"}, ""},
      {"selection guide", "Variance / positive params", "Softplus", {"softplus-variance"}, ""},
      {"selection guide", "Self-normalizing networks", "SELU", {"selu"}, ""},
      {"selection guide", "Sparse representations", "Hardshrink, Softshrink", {"sparse-codes"}, ""},
      // The short table (docs, "Choosing: the short table").
      {"short table",
       "Sigmoid",
       "output is a probability; saturates both tails; never use in hidden layers",
       {"vanishing", "batchnorm", "output-activations"},
       ""},
      {"short table",
       "Tanh",
       "zero-centred; survives in RNN gates; still saturates",
       {"zero-centred", "vanishing"},
       "\"survives in RNN gates\" is not tested: bend has no recurrent layer"},
      {"short table",
       "ReLU",
       "cheapest, gradient exactly 1 when active; CNN default; dead neurons",
       {"cost", "vanishing", "relu-sparsity", "dying-relu", "large-step"},
       ""},
      {"short table",
       "Leaky ReLU",
       "no dead zone; one more hyperparameter, marginal gains",
       {"dying-relu"},
       ""},
      {"short table",
       "GELU / SiLU",
       "smooth ReLU; transformer default; slightly costlier",
       {"gelu-noise", "silu-twin", "dip", "cost", "transformer"},
       ""},
      // The properties table (docs, "Key Properties to Compare").
      {"properties",
       "Output range",
       "bounded outputs (Sigmoid, Tanh) constrain values but may saturate; unbounded (ReLU) can explode",
       {"explode", "vanishing"},
       ""},
      {"properties",
       "Smoothness",
       "smooth (GELU, SiLU, Mish) have well-defined gradients everywhere; non-smooth (ReLU) have "
       "sub-gradients at kinks",
       {"dip", "silu-twin", "transformer"},
       ""},
      {"properties",
       "Monotonicity",
       "most activations are monotone; non-monotone ones (SiLU) can represent more complex functions",
       {"dip", "universal-approx"},
       "\"can represent more complex functions\" is not measured: dip measures the non-monotonicity only"},
      {"properties",
       "Zero-centering",
       "zero-centered outputs (Tanh) reduce zig-zag gradient updates; non-zero-centered (ReLU, Sigmoid) can "
       "slow convergence",
       {"zero-centred"},
       ""},
  };
  return kRows;
}

bool experiment_in_table(std::string_view name) {
  for (const Experiment& e : experiments())
    if (e.name == name) return true;
  return false;
}

}  // namespace

std::span<const GuideRow> guide_rows() { return all_guide_rows(); }

std::vector<GuideCell> guide_cells(const GuideRow& row, std::span<const LabResult> results) {
  std::vector<GuideCell> cells;
  for (std::string_view name : row.experiments) {
    GuideCell c;
    c.name = std::string(name);
    c.in_table = experiment_in_table(name);
    for (const LabResult& r : results)
      if (r.experiment->name == name) {
        c.ran = true;
        c.verdict = verdict_text(r.outcome);
        c.measured = r.outcome.measured;
      }
    if (!c.ran) c.verdict = c.in_table ? "not run" : "not measured yet";
    cells.push_back(std::move(c));
  }
  return cells;
}

std::vector<std::string> guide_header() {
  return {"table", "row", "the docs say", "measured by", "verdicts"};
}

std::vector<std::vector<std::string>> guide_table(std::span<const LabResult> results, bool with_numbers) {
  std::vector<std::vector<std::string>> out;
  for (const GuideRow& row : all_guide_rows()) {
    std::string names, verdicts;
    for (const GuideCell& c : guide_cells(row, results)) {
      names += (names.empty() ? "" : ", ") + c.name;
      verdicts += fmt::format("{}{}: {}", verdicts.empty() ? "" : "; ", c.name, c.verdict);
      if (with_numbers && c.ran) verdicts += fmt::format(" ({})", c.measured);
    }
    if (!row.untested.empty()) verdicts += fmt::format("{}{}", verdicts.empty() ? "" : "; ", row.untested);
    out.push_back(
        {std::string(row.table), std::string(row.topic), std::string(row.docs_say), names, verdicts});
  }
  return out;
}

std::vector<std::filesystem::path> write_guide(std::span<const LabResult> results,
                                               const std::filesystem::path& dir) {
  const auto rows_with_numbers = guide_table(results, true);
  const std::string intro =
      "The activation docs' selection guide, short table and properties table, row by row, with the `bend "
      "lab` experiments that measured each row, their measurements and verdicts. \"not measured yet\": the "
      "experiment is not in this build's table; \"not run\": it is, but this run left it out.";
  plot::HtmlReport page("bend lab guide: the docs' tables, measured");
  page.paragraph(intro);
  page.table(guide_header(), rows_with_numbers);
  std::filesystem::create_directories(dir);
  page.save(dir / "guide.html");

  std::string md = "# bend lab guide: the docs' tables, measured\n\n" + intro + "\n\n";
  auto cell = [](std::string s) {
    std::string out;
    for (char ch : s)
      out += ch == '|' ? std::string("\\|") : ch == '\n' ? std::string(" ") : std::string(1, ch);
    return out;
  };
  const auto header = guide_header();
  for (const auto& h : header) md += "| " + h + " ";
  md += "|\n";
  for (std::size_t i = 0; i < header.size(); ++i) md += "|---";
  md += "|\n";
  for (const auto& r : rows_with_numbers) {
    for (const auto& c : r) md += "| " + cell(c) + " ";
    md += "|\n";
  }
  std::ofstream f(dir / "guide.md");
  f << md;
  if (!f) throw IoError(fmt::format("lab guide: cannot write {}", (dir / "guide.md").string()));
  return {dir / "guide.md", dir / "guide.html"};
}

}  // namespace bend::lab
