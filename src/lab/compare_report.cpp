// The report files of a comparison: report.md, curves.csv, summary.json, SVG charts and index.html
// (see bend/lab/compare.hpp).
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bend/io/atomic_file.hpp"
#include "bend/lab/compare.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"
#include "bend/stats/sample_summary.hpp"
#include "compare_detail.hpp"

namespace bend::lab {
namespace {

using detail::hidden_count;
using detail::kNaN;
using detail::mean_of;
using detail::ranking_text;
using detail::runs_of;
using detail::table_header;
using detail::table_rows;

nlohmann::json sample_json(const stats::SampleSummary& s) {
  if (s.n == 0) return {{"n", 0}};
  nlohmann::json j{{"n", s.n}, {"mean", s.mean}};
  if (s.has_spread()) {
    j["std"] = s.std;
    j["ci95"] = {s.ci_low, s.ci_high};
  }
  return j;
}

// Per-activation intervals, pairwise tests with Holm, groups and seeds needed. Fields that need 2 seeds
// are absent (not null, not NaN) when there are fewer; "enough_seeds" says which case it is.
nlohmann::json statistics_json(const CompareResult& result) {
  const stats::SeedComparison& c = result.statistics;
  nlohmann::json j;
  j["enough_seeds"] = c.has_statistics();
  j["max_seeds"] = c.max_seeds();
  j["alpha"] = c.settings.alpha;
  j["confidence"] = c.settings.confidence;
  j["power"] = c.settings.power;
  const bool accuracy = result.metric == CompareMetric::TestAccuracy;
  j["metric"] =
      accuracy ? "final test accuracy, paired by seed" : "final val loss, paired by seed (lower is better)";
  j["higher_is_better"] = c.settings.higher_is_better;
  nlohmann::json acts = nlohmann::json::array();
  for (const ActivationSummary& s : result.summary)
    acts.push_back({{"activation", s.activation},
                    {"runs", s.runs},
                    {"left_out_runs", s.failed_runs},
                    {accuracy ? "final_test_accuracy" : "final_val_loss", sample_json(s.final_score)},
                    {accuracy ? "best_test_accuracy" : "best_val_loss", sample_json(s.best_score)}});
  j["activations"] = acts;
  nlohmann::json pairs = nlohmann::json::array();
  for (const stats::PairResult& p : c.pairs) {
    nlohmann::json e{{"first", c.names[p.first]}, {"second", c.names[p.second]}, {"seeds", p.test.n}};
    if (p.test.enough_pairs()) {
      e["mean_difference"] = p.test.mean_difference;
      e["std_difference"] = p.test.std_difference;
      e["ci95"] = {p.test.ci_low, p.test.ci_high};
      e["t"] = p.test.t;
      e["p_value"] = p.test.p_value;
      e["p_holm"] = p.p_holm;
      e["resolved"] = p.resolved;
      e["zero_variance"] = p.test.zero_variance;
      e["seeds_needed"] = p.seeds_needed ? nlohmann::json(*p.seeds_needed) : nlohmann::json(nullptr);
    }
    pairs.push_back(std::move(e));
  }
  j["pairs"] = pairs;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : c.groups) {
    nlohmann::json names = nlohmann::json::array();
    for (std::size_t m : g) names.push_back(c.names[m]);
    groups.push_back(names);
  }
  j["groups"] = groups;
  j["ranking_line"] = stats::ranking_line(c);
  if (c.closest_unresolved) {
    const stats::PairResult& p = c.pairs[*c.closest_unresolved];
    j["smallest_unresolved_gap"] = {
        {"first", c.names[p.first]},
        {"second", c.names[p.second]},
        {"mean_difference", p.test.mean_difference},
        {"seeds_needed", p.seeds_needed ? nlohmann::json(*p.seeds_needed) : nlohmann::json(nullptr)}};
  }
  nlohmann::json left_out = nlohmann::json::array();
  for (const RunRecord& r : result.runs)
    if (!r.error.empty() || r.history.empty())
      left_out.push_back(
          {{"activation", r.activation}, {"seed", r.seed}, {"error", r.error}, {"failed", r.failed}});
  j["left_out_runs"] = left_out;
  return j;
}

std::size_t linear_count(const CompareResult& result) {
  std::size_t n = 0;
  for (const auto& r : result.runs) n = std::max(n, r.initial.layers.size());
  return n;
}

nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json vector_json(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(finite_or_null(x));
  return a;
}

nlohmann::json report_diagnostics_json(const train::Diagnostics& d) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : d.layers)
    layers.push_back({{"activation", l.activation},
                      {"units", l.units},
                      {"weight_grad_norm", finite_or_null(l.weight_grad_norm)},
                      {"dead_units", l.dead_units},
                      {"dead_fraction", l.dead_fraction},
                      {"saturated_fraction", l.saturated_fraction},
                      {"pre_mean", finite_or_null(l.pre_mean)},
                      {"pre_std", finite_or_null(l.pre_std)},
                      {"act_mean", finite_or_null(l.act_mean)},
                      {"act_std", finite_or_null(l.act_std)}});
  return {{"probe_loss", finite_or_null(d.probe_loss)},
          {"probe_samples", d.probe_samples},
          {"grad_norm_ratio", finite_or_null(d.grad_norm_ratio)},
          {"layers", layers}};
}

// "lr=0.001, beta1=0.9, ..." : every option of the run's optimizer, defaults filled in.
std::string optimizer_options_text(const train::TrainConfig& c) {
  std::string out;
  const optim::OptimizerOptions options =
      optim::complete_options(optim::find_optimizer(c.optimizer), c.optimizer_options);
  for (const auto& [key, value] : options)
    out += fmt::format("{}{}={:g}", out.empty() ? "" : ", ", key, value);
  return out;
}

std::string config_text(const CompareOptions& o) {
  const train::TrainConfig& c = o.base;
  if (o.language_model()) {
    const nn::GPTConfig& g = o.gpt;
    return fmt::format(
        "text {} ({} characters, vocabulary {}), GPT n_layer {}, n_head {}, n_embd {}, block {}, bias {}, "
        "dropout {:g}, optimizer {} ({}), batch {}, {} steps (warm-up {}, cosine to min lr {:g}), grad clip "
        "{:g}, val loss estimated every {} steps over {} batches, seeds {} (from {}), probe {} val windows",
        o.corpus->name, o.corpus->characters, o.corpus->vocab_size(), g.n_layer, g.n_head, g.n_embd,
        g.block_size, g.bias, g.dropout, c.optimizer, optimizer_options_text(c), c.batch, c.max_steps,
        c.warmup_steps,
        c.text.min_lr < 0
            ? optim::complete_options(optim::find_optimizer(c.optimizer), c.optimizer_options).at("lr") / 10
            : c.text.min_lr,
        c.text.grad_clip, c.text.eval_interval, c.text.eval_iters, o.seeds, c.seed, o.probe_size);
  }
  return fmt::format(
      "dataset {}, arch {}, optimizer {} ({}), batch {}, epochs {}, init {}, seeds {} (from {}), train "
      "limit {}, "
      "test limit {}, probe {} test samples",
      c.dataset, o.arch, c.optimizer, optimizer_options_text(c), c.batch, c.epochs, o.init, o.seeds, c.seed,
      c.train_limit > 0 ? std::to_string(c.train_limit) : std::string("none"),
      c.test_limit > 0 ? std::to_string(c.test_limit) : std::string("none"), o.probe_size);
}

std::string linear_label(const CompareResult& result, std::size_t k, std::size_t linears) {
  for (const auto& r : result.runs)
    if (k < r.initial.layers.size()) {
      const auto& l = r.initial.layers[k];
      if (result.metric == CompareMetric::ValLoss)  // diagnose_gpt's layers: each block's c_fc, lm_head
        return k + 1 == linears ? fmt::format("lm_head (tied to wte, {} characters)", l.units)
                                : fmt::format("block {} mlp.c_fc ({} units)", k, l.units);
      return k + 1 == linears ? fmt::format("output Linear ({} units)", l.units)
                              : fmt::format("layer {} Linear ({} units)", k + 1, l.units);
    }
  return fmt::format("layer {}", k + 1);
}

// The sentence under the summary table.
std::string table_note(bool text) {
  if (text)
    return "Val loss is the last estimate's (s/estimate: seconds of training between estimates); dead units "
           "and saturation are per block's MLP (mlp.c_fc's units, every token of the probe windows a "
           "sample) after the last estimate (saturated: |f'(x)| < 5% of max f', which for the ReLU family "
           "is the inactive side; swiglu: the SiLU of its gate); grad ratio is block 0's mlp.c_fc "
           "weight-gradient norm over lm_head's (the tied token embedding).";
  return "Test accuracy is the last epoch's; dead units and saturation are per hidden layer after the last "
         "epoch (saturated: |f'(x)| < 5% of max f', which for the ReLU family is the inactive side); grad "
         "ratio is the first Linear's weight-gradient norm over the output Linear's.";
}

plot::LineChart line_chart(std::string title, std::string x_label, std::string y_label) {
  plot::LineChart c;
  c.title = std::move(title);
  c.x_label = std::move(x_label);
  c.y_label = std::move(y_label);
  return c;
}

plot::Series series(const std::string& label, const std::string& color) {
  plot::Series s;
  s.label = label;
  s.color = color;
  s.markers = true;
  return s;
}

}  // namespace

std::vector<std::filesystem::path> write_compare_report(const CompareOptions& options,
                                                        const CompareResult& result,
                                                        const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::vector<std::filesystem::path> written;
  const std::size_t hidden = hidden_count(result), linears = linear_count(result);

  // curves.csv: every epoch of every run, with its diagnostics.
  {
    std::string csv =
        "activation,seed,epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr,steps,"
        "probe_loss,grad_norm_ratio";
    for (std::size_t k = 0; k < linears; ++k) csv += fmt::format(",grad_norm_{}", k + 1);
    for (std::size_t h = 0; h < hidden; ++h) csv += fmt::format(",dead_fraction_{}", h + 1);
    for (std::size_t h = 0; h < hidden; ++h) csv += fmt::format(",saturated_fraction_{}", h + 1);
    csv += "\n";
    for (const RunRecord& r : result.runs)
      for (std::size_t e = 0; e < r.history.size(); ++e) {
        const auto& m = r.history[e];
        const auto& d = r.diagnostics[e];
        csv += fmt::format("{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.6f},{:.9g},{},{:.9g},{:.9g}",
                           r.activation, r.seed, m.epoch, m.train_loss, m.train_accuracy, m.test_loss,
                           m.test_accuracy, m.seconds, m.lr, m.steps, d.probe_loss, d.grad_norm_ratio);
        for (std::size_t k = 0; k < linears; ++k)
          csv += k < d.layers.size() ? fmt::format(",{:.9g}", d.layers[k].weight_grad_norm) : ",";
        const auto hl = d.hidden();
        for (std::size_t h = 0; h < hidden; ++h)
          csv += h < hl.size() ? fmt::format(",{:.9g}", hl[h]->dead_fraction) : ",";
        for (std::size_t h = 0; h < hidden; ++h)
          csv += h < hl.size() ? fmt::format(",{:.9g}", hl[h]->saturated_fraction) : ",";
        csv += "\n";
      }
    write_file_atomically(dir / "curves.csv", csv);
    written.push_back(dir / "curves.csv");
  }

  // summary.json
  {
    const train::TrainConfig& c = options.base;
    const optim::OptimizerOptions optimizer_options =
        optim::complete_options(optim::find_optimizer(c.optimizer), c.optimizer_options);
    nlohmann::json j;
    const bool accuracy = result.metric == CompareMetric::TestAccuracy;
    j["config"] = {{"dataset", c.dataset},
                   {"arch", options.arch},
                   {"optimizer", c.optimizer},
                   {"optimizer_options", optimizer_options},
                   {"lr", optimizer_options.at("lr")},
                   {"batch", c.batch},
                   {"epochs", c.epochs},
                   {"init", options.init},
                   {"seed", c.seed},
                   {"seeds", options.seeds},
                   {"train_limit", c.train_limit},
                   {"test_limit", c.test_limit},
                   {"standardize", c.standardize},
                   {"probe_size", options.probe_size},
                   {"command", options.command_line}};
    if (options.language_model()) {
      const nn::GPTConfig& g = options.gpt;
      j["config"]["model"] = "gpt";
      j["config"]["text"] = options.corpus->name;
      j["config"]["gpt"] = {{"n_layer", g.n_layer},
                            {"n_head", g.n_head},
                            {"n_embd", g.n_embd},
                            {"block_size", g.block_size},
                            {"bias", g.bias},
                            {"dropout", g.dropout},
                            {"vocab_size", options.corpus->vocab_size()}};
      j["config"]["steps"] = c.max_steps;
      j["config"]["warmup_steps"] = c.warmup_steps;
      j["config"]["eval_interval"] = c.text.eval_interval;
      j["config"]["eval_iters"] = c.text.eval_iters;
      j["config"]["grad_clip"] = c.text.grad_clip;
      for (const char* unused : {"arch", "init", "epochs", "train_limit", "test_limit", "standardize"})
        j["config"].erase(unused);
    }
    j["metric"] = accuracy ? "test_accuracy" : "val_loss";
    j["total_seconds"] = result.total_seconds;
    j["ranking"] = result.ranking;
    j["statistics"] = statistics_json(result);
    nlohmann::json acts = nlohmann::json::array();
    for (const ActivationSummary& s : result.summary) {
      nlohmann::json runs = nlohmann::json::array();
      for (const RunRecord* r : runs_of(result, s.activation, false)) {
        nlohmann::json epochs = nlohmann::json::array();
        for (std::size_t e = 0; e < r->history.size(); ++e) {
          const auto& m = r->history[e];
          epochs.push_back({{"epoch", m.epoch},
                            {"train_loss", finite_or_null(m.train_loss)},
                            {"train_accuracy", m.train_accuracy},
                            {"test_loss", finite_or_null(m.test_loss)},
                            {"test_accuracy", m.test_accuracy},
                            {"seconds", m.seconds},
                            {"diagnostics", report_diagnostics_json(r->diagnostics[e])}});
        }
        runs.push_back(
            {{"seed", r->seed},
             {"error", r->error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r->error)},
             {"failed", r->failed},
             {accuracy ? "final_test_accuracy" : "final_val_loss",
              r->history.empty() ? nlohmann::json(nullptr)
                                 : finite_or_null(detail::MetricText{result.metric}.of(r->history.back()))},
             {"seconds", r->total_seconds},
             {"initial_diagnostics", report_diagnostics_json(r->initial)},
             {"epochs", epochs}});
      }
      acts.push_back({{"activation", s.activation},
                      {"runs", s.runs},
                      {"failed_runs", s.failed_runs},
                      {"missing_runs", s.missing_runs},
                      {accuracy ? "test_accuracy_mean" : "val_loss_mean",
                       finite_or_null(accuracy ? s.test_accuracy_mean : s.final_score.mean)},
                      {accuracy ? "test_accuracy_std" : "val_loss_std",
                       finite_or_null(accuracy ? s.test_accuracy_std : s.final_score.std)},
                      {accuracy ? "best_epoch" : "best_estimate", s.best_epoch},
                      {"final_train_loss", finite_or_null(s.final_train_loss)},
                      {"seconds_per_epoch", finite_or_null(s.seconds_per_epoch)},
                      {"dead_fraction", vector_json(s.dead_fraction)},
                      {"saturated_fraction", vector_json(s.saturated_fraction)},
                      {"grad_norms", vector_json(s.grad_norms)},
                      {"initial_grad_norms", vector_json(s.initial_grad_norms)},
                      {"grad_norm_ratio", finite_or_null(s.grad_norm_ratio)},
                      {"seed_runs", runs}});
      if (accuracy) acts.back()["best_test_accuracy"] = finite_or_null(s.best_test_accuracy);
    }
    j["activations"] = acts;
    write_file_atomically(dir / "summary.json", j.dump(2) + "\n");
    written.push_back(dir / "summary.json");
  }

  // Charts: seed-mean curves per activation. A language model's are per estimate, against the step.
  const bool text = result.metric == CompareMetric::ValLoss;
  plot::LineChart accuracy =
      text ? line_chart("Val loss per estimate (mean over seeds; band: ± one std)", "step", "val loss")
           : line_chart("Test accuracy per epoch (mean over seeds; band: ± one std)", "epoch",
                        "test accuracy (%)");
  plot::LineChart loss =
      text ? line_chart("Estimated train loss (mean over seeds)", "step", "train loss (log)")
           : line_chart("Training loss per epoch (mean over seeds)", "epoch", "train loss (log)");
  loss.y_scale = plot::Scale::Log10;
  std::vector<plot::LineChart> grad_panels(linears);
  for (std::size_t k = 0; k < linears; ++k) {
    grad_panels[k].title = linear_label(result, k, linears);
    grad_panels[k].x_label = text ? "estimate (0 = init)" : "epoch (0 = init)";
    grad_panels[k].y_label = "weight grad norm (log)";
    grad_panels[k].y_scale = plot::Scale::Log10;
    grad_panels[k].width = 480;
    grad_panels[k].height = 320;
  }
  for (std::size_t a = 0; a < result.summary.size(); ++a) {
    const std::string& act = result.summary[a].activation;
    const std::string color = plot::palette_color(a);
    const auto ok = runs_of(result, act, true);
    std::size_t epochs = 0;
    for (const auto* r : ok) epochs = std::max(epochs, r->history.size());
    plot::Series acc = series(act, color), lo = series(act, color);
    plot::Band acc_band;  // mean ± one sample std over seeds (only with >= 2 runs at that epoch)
    acc_band.series = accuracy.series.size();
    std::vector<plot::Series> grads(linears, series(act, color));
    for (std::size_t e = 0; e <= epochs; ++e) {
      std::vector<double> av, lv;
      double x = static_cast<double>(e);  // the epoch, or a language model's step
      std::vector<std::vector<double>> gv(linears);
      for (const auto* r : ok) {
        const train::Diagnostics* d =
            e == 0 ? &r->initial : (e <= r->diagnostics.size() ? &r->diagnostics[e - 1] : nullptr);
        if (e > 0 && e <= r->history.size()) {
          av.push_back(text ? r->history[e - 1].test_loss : 100 * r->history[e - 1].test_accuracy);
          lv.push_back(r->history[e - 1].train_loss);
          if (text) x = static_cast<double>(r->history[e - 1].steps);
        }
        if (d)
          for (std::size_t k = 0; k < linears && k < d->layers.size(); ++k)
            gv[k].push_back(d->layers[k].weight_grad_norm);
      }
      if (e > 0) {
        acc.x.push_back(x);
        acc.y.push_back(mean_of(av));
        const double spread = av.size() >= 2 ? stats::sample_std(av) : kNaN;
        acc_band.low.push_back(mean_of(av) - spread);
        acc_band.high.push_back(mean_of(av) + spread);
        lo.x.push_back(x);
        lo.y.push_back(mean_of(lv));
      }
      for (std::size_t k = 0; k < linears; ++k) {
        grads[k].x.push_back(static_cast<double>(e));
        grads[k].y.push_back(mean_of(gv[k]));
      }
    }
    accuracy.series.push_back(std::move(acc));
    if (ok.size() >= 2) accuracy.bands.push_back(std::move(acc_band));
    loss.series.push_back(std::move(lo));
    for (std::size_t k = 0; k < linears; ++k) grad_panels[k].series.push_back(std::move(grads[k]));
  }
  plot::BarChart dead_sat;
  dead_sat.title = "Dead units and saturated pre-activations after training (mean over seeds)";
  dead_sat.x_label = "hidden layer";
  dead_sat.y_label = "% of units / pre-activations";
  for (const auto& s : result.summary) dead_sat.bar_labels.push_back(s.activation);
  for (std::size_t h = 0; h < hidden; ++h) {
    plot::BarGroup dead, sat;
    dead.label = fmt::format("L{} dead", h + 1);
    sat.label = fmt::format("L{} saturated", h + 1);
    for (const auto& s : result.summary) {
      dead.values.push_back(h < s.dead_fraction.size() ? 100 * s.dead_fraction[h] : kNaN);
      sat.values.push_back(h < s.saturated_fraction.size() ? 100 * s.saturated_fraction[h] : kNaN);
    }
    dead_sat.groups.push_back(std::move(dead));
    dead_sat.groups.push_back(std::move(sat));
  }
  dead_sat.y_min = 0;
  dead_sat.y_max = 100;
  dead_sat.width = std::max(720, static_cast<int>(120 * dead_sat.groups.size() + 200));

  const auto save = [&](const std::string& name, const std::string& svg) {
    plot::save_svg(dir / name, svg);
    written.push_back(dir / name);
  };
  const std::string first_chart = text ? "val_loss.svg" : "accuracy.svg";
  save(first_chart, plot::render_svg(accuracy));
  save("loss.svg", plot::render_svg(loss));
  if (linears > 0)
    save("grad_norms.svg",
         plot::render_svg_grid(grad_panels, static_cast<int>(std::min<std::size_t>(linears, 3)),
                               "Weight-gradient norm per layer on the probe batch (mean over seeds)"));
  if (hidden > 0) save("dead_saturated.svg", plot::render_svg(dead_sat));

  // report.md
  {
    std::string md = "# bend compare: activations\n\n";
    if (!options.command_line.empty()) md += "```\n" + options.command_line + "\n```\n\n";
    md += config_text(options) + fmt::format("; total {:.1f}s.\n\n", result.total_seconds);
    md += table_note(text) + "\n\n";
    md += summary_table_markdown(result);
    md += "\n## Ranking\n\n" + ranking_text(result);
    for (const RunRecord& r : result.runs)
      if (!r.error.empty()) md += fmt::format("\n- {} seed {}: {}\n", r.activation, r.seed, r.error);
    md += "\n## Statistics over seeds\n\n" + statistics_markdown(result);
    md += text ? "\n## Charts\n\n![val loss](val_loss.svg)\n\n![train loss](loss.svg)\n\n"
               : "\n## Charts\n\n![test accuracy](accuracy.svg)\n\n![train loss](loss.svg)\n\n";
    if (linears > 0) md += "![gradient norms](grad_norms.svg)\n\n";
    if (hidden > 0) md += "![dead and saturated](dead_saturated.svg)\n\n";
    md += text ? "Data: curves.csv (every estimate of every run: test_loss is the val loss), summary.json.\n"
               : "Data: curves.csv (every epoch of every run), summary.json.\n";
    write_file_atomically(dir / "report.md", md);
    written.push_back(dir / "report.md");
  }

  // index.html
  {
    plot::HtmlReport page("bend compare: activations");
    if (!options.command_line.empty()) page.preformatted(options.command_line);
    page.paragraph(config_text(options) + fmt::format("; total {:.1f}s.", result.total_seconds));
    page.heading("Summary");
    page.table(table_header(hidden, result.metric), table_rows(result));
    page.paragraph(table_note(text));
    page.heading("Ranking");
    page.preformatted(ranking_text(result));
    page.heading("Statistics over seeds");
    const detail::StatisticsText st = detail::statistics_text(result);
    for (const std::string& line : st.lines) page.paragraph(line);
    const detail::MetricText metric{result.metric};
    page.paragraph(detail::interval_note(metric) + ":");
    page.table(st.interval_header, st.interval_rows);
    if (!st.pair_rows.empty()) {
      page.paragraph(detail::pair_note(metric) + ":");
      page.table(st.pair_header, st.pair_rows);
    }
    page.heading("Charts");
    page.image(first_chart, text ? "val loss per estimate" : "test accuracy per epoch");
    page.image("loss.svg", text ? "estimated train loss" : "training loss per epoch");
    if (linears > 0) page.image("grad_norms.svg", "weight-gradient norms per layer");
    if (hidden > 0) page.image("dead_saturated.svg", "dead and saturated fractions");
    page.paragraph("Data: curves.csv (every epoch of every run), summary.json, report.md.");
    page.save(dir / "index.html");
    written.push_back(dir / "index.html");
  }
  return written;
}

}  // namespace bend::lab
