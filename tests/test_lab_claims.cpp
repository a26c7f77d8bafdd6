// bend lab's claims on small, fast settings of real MNIST: every entry of the table reaches its verdict
// from numbers that are checked here against independent expectations, and `bend lab all`'s page
// holds every claim.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "bend/data/registry.hpp"
#include "bend/lab/claims.hpp"
#include "bend/plot/html_report.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";

bool mnist_available() {
  std::error_code ec;
  return bend::testing::require_available(
      std::filesystem::exists(kMnist / "train-labels-idx1-ubyte", ec) ||
          std::filesystem::exists(kMnist / "train-labels-idx1-ubyte.gz", ec),
      "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh");
}

// Small settings: `bend lab --quick`'s.
lab::LabSettings fast_settings() { return lab::quick_settings(); }

// Every experiment run once on fast_settings(), shared by the test cases below (in table order).
const std::map<std::string, lab::LabResult>& fast_results() {
  static const std::map<std::string, lab::LabResult> results = [] {
    const lab::LabData data{load_dataset("mnist", kMnist, Split::Train),
                            load_dataset("mnist", kMnist, Split::Test)};
    std::map<std::string, lab::LabResult> out;
    const lab::LabSettings s = fast_settings();
    for (const lab::Experiment& e : lab::experiments())
      out.emplace(std::string(e.name), lab::run_experiment(e, s, &data));
    return out;
  }();
  return results;
}

void check_reproduced(const std::string& name, const lab::ClaimOutcome& o) {
  INFO(lab::verdict_line(lab::find_experiment(name), o));
  CHECK(o.reproduced);
}

// The shared run of an experiment on MNIST, its verdict checked.
const lab::ClaimOutcome& outcome(const std::string& name) {
  const lab::ClaimOutcome& o = fast_results().at(name).outcome;
  check_reproduced(name, o);
  return o;
}

// An experiment that needs no data, run on its own.
lab::ClaimOutcome outcome_without_data(const std::string& name) {
  lab::ClaimOutcome o = lab::run_experiment(lab::find_experiment(name), fast_settings(), nullptr).outcome;
  check_reproduced(name, o);
  return o;
}

// min over x in [lo, hi] of f, sampled in double at `n` points (then refined around the best).
std::pair<double, double> minimum(double (*f)(double), double lo, double hi) {
  double best_x = lo, best = f(lo);
  for (int round = 0; round < 3; ++round) {
    const double step = (hi - lo) / 10000;
    for (int i = 0; i <= 10000; ++i) {
      const double x = lo + step * i;
      if (f(x) < best) {
        best = f(x);
        best_x = x;
      }
    }
    lo = best_x - step;
    hi = best_x + step;
  }
  return {best_x, best};
}

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double silu(double x) { return x / (1 + std::exp(-x)); }

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("lab claims: the table", "[lab][claims]") {
  CHECK(lab::experiments().size() >= 7);
  for (const char* name :
       {"collapse", "xor", "vanishing", "dying-relu", "dip", "init", "batchnorm", "transformer", "selu",
        "softplus-variance", "sparse-codes", "output-activations", "large-step", "large-vocab"})
    CHECK(lab::find_experiment(name).name == name);
  CHECK_THROWS_AS(lab::find_experiment("nope"), ValueError);
  lab::ClaimOutcome o;
  o.set("x", 2.5);
  o.measured = "x = 2.5";
  CHECK(o.number("x") == 2.5);
  CHECK_THROWS_AS(o.number("y"), ValueError);
  CHECK(lab::verdict_line(lab::find_experiment("xor"), o) ==
        "claim: " + std::string(lab::find_experiment("xor").claim) + " measured: x = 2.5 → not reproduced");
  o.reproduced = true;
  CHECK(lab::verdict_line(lab::find_experiment("xor"), o).ends_with("→ reproduced"));
  o.not_settled(5, 23);
  CHECK_FALSE(o.reproduced);
  CHECK(lab::verdict_text(o) == "not settled at 5 seeds (a paired test would need about 23)");
  CHECK(lab::verdict_line(lab::find_experiment("xor"), o).ends_with("→ " + lab::verdict_text(o)));
  CHECK(lab::per_layer_factor({1e-4, 1e-2, 1.0}) == Approx(0.01));
  lab::LabSettings s;
  s.override_data(500, 2);
  CHECK(s.collapse.data.train == 500);
  CHECK(s.dying_relu.measure == 500);
  CHECK(s.batchnorm.train.epochs == 2);
}

TEST_CASE("lab claims: collapse", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  const auto& o = outcome("collapse");
  CHECK(o.number("max_difference_init") < 1e-5);
  CHECK(o.number("max_difference_trained") < 1e-4);
  CHECK(o.number("max_output") > 0.01);  // the difference is small next to real outputs
  CHECK(std::fabs(o.number("stack_accuracy") - o.number("logistic_accuracy")) <= 0.02);
  CHECK(o.number("bent_accuracy") >= o.number("stack_accuracy") + 0.01);
}

TEST_CASE("lab claims: xor", "[lab][claims]") {
  const auto o = outcome_without_data("xor");
  CHECK(o.number("linear_loss") == Approx(std::log(2.0)).epsilon(0.01));
  CHECK(o.number("linear_accuracy") <= 0.75);
  CHECK(o.number("bends") == 6);
  CHECK(o.number("solved") == 6);
  CHECK(o.number("worst_bend_loss") < 0.05);
}

TEST_CASE("lab claims: vanishing", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  const auto& o = outcome("vanishing");
  CHECK(o.number("sigmoid_max_derivative") == Approx(0.25).epsilon(1e-6));
  CHECK(std::fabs(o.number("sigmoid_argmax_derivative")) < 1e-3);
  CHECK(o.number("bound_20") == Approx(std::pow(0.25, 20)).epsilon(1e-5));
  CHECK(o.number("bound_20") <= 1e-12);
  for (int depth : {20, 50}) {
    INFO("depth " << depth);
    // σ' ≤ 0.25 times Xavier weights of gain ~1: about 0.25 per layer.
    CHECK(o.number("sigmoid_factor_" + std::to_string(depth)) < 0.3);
    CHECK(o.number("sigmoid_ratio_" + std::to_string(depth)) < std::pow(0.3, depth));
    CHECK(o.number("relu_factor_" + std::to_string(depth)) > 0.7);
    CHECK(o.number("relu_factor_" + std::to_string(depth)) < 1.43);
    CHECK(o.number("tanh_factor_" + std::to_string(depth)) > 0.7);
  }
}

TEST_CASE("lab claims: dying-relu", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  const auto& o = outcome("dying-relu");
  CHECK(o.number("relu_silent_after_kill") >= 0.95 * 0.98);
  CHECK(o.number("relu_silent_lowest") >= o.number("relu_silent_after_kill"));  // none came back
  CHECK(o.number("relu_killed_bias_grad") == 0.0);
  CHECK(o.number("relu_accuracy") < o.number("healthy_accuracy") - 0.02);
  for (const char* act : {"leaky_relu", "elu", "gelu"}) {
    INFO(act);
    const std::string a(act);
    CHECK(o.number(a + "_silent_after_kill") == o.number("relu_silent_after_kill"));  // same kill
    CHECK(o.number(a + "_killed_bias_grad") > 0.0);
    CHECK(o.number(a + "_silent_end") <= 0.5 * o.number(a + "_silent_after_kill"));
    CHECK(o.number(a + "_accuracy") > o.number("relu_accuracy"));
  }
}

TEST_CASE("lab claims: dip", "[lab][claims]") {
  const auto o = outcome_without_data("dip");
  const auto [gelu_x, gelu_min] = minimum(&gelu, -3, 1);
  const auto [silu_x, silu_min] = minimum(&silu, -3, 1);
  CHECK(gelu_min == Approx(-0.16997).margin(1e-4));  // closed form, in double
  CHECK(o.number("gelu_min") == Approx(gelu_min).margin(1e-5));
  CHECK(o.number("gelu_argmin") == Approx(gelu_x).margin(2 * o.number("step")));
  CHECK(o.number("silu_min") == Approx(silu_min).margin(1e-5));
  CHECK(o.number("silu_argmin") == Approx(silu_x).margin(2 * o.number("step")));
}

TEST_CASE("lab claims: init", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  const auto& o = outcome("init");
  CHECK(o.number("relu_he_signal_ratio") > 0.25);
  CHECK(o.number("relu_he_signal_ratio") < 4);
  // LeCun halves the variance of He: the std shrinks by √2 per layer, 2^-9.5 over 19 layers.
  CHECK(o.number("relu_lecun_signal_ratio") < 0.05);
  CHECK(o.number("relu_lecun_signal_ratio") > 1e-4);
  CHECK(o.number("relu_torch_grad_factor") < 0.7);
  CHECK(o.number("relu_he_accuracy") > o.number("relu_lecun_accuracy") + 0.05);
  CHECK(o.number("relu_he_accuracy") > o.number("relu_torch_accuracy") + 0.05);
}

TEST_CASE("lab claims: batchnorm", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  const auto& o = outcome("batchnorm");
  CHECK(o.number("sigmoid_grad_first") < 1e-8);
  CHECK(o.number("sigmoid_bn_grad_first") > 1e-2);
  CHECK(o.number("sigmoid_bn_grad_factor") > 0.7);
  CHECK(o.number("sigmoid_accuracy") < 0.2);
  CHECK(o.number("sigmoid_bn_accuracy") > 0.6);
  CHECK(o.number("relu_accuracy") > 0.2);
}

TEST_CASE("lab claims: transformer", "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  // A tiny ViT, 3 seeds, one epoch on 2000 images: the verdict must follow from the numbers, whichever
  // it is.
  const lab::ClaimOutcome& o = fast_results().at("transformer").outcome;
  INFO(lab::verdict_line(lab::find_experiment("transformer"), o));
  CHECK(o.number("seeds") == 3);
  const double relu = o.number("relu_accuracy");
  CHECK(relu > 0.2);  // a fraction; one epoch of 2000 images takes a ViT to ~30%, 3x guessing
  int better = 0, worse = 0;
  for (const char* act : {"gelu", "silu", "swiglu"}) {
    INFO(act);
    const std::string a(act);
    CHECK(o.number(a + "_accuracy") > 0.2);
    // No run diverges here, so the mean paired gap is the gap of the means.
    CHECK(o.number(a + "_minus_relu") == Approx(o.number(a + "_accuracy") - relu).margin(1e-9));
    const double p = o.number(a + "_p_holm");
    CHECK(p >= 0.0);
    CHECK(p <= 1.0);
    if (p <= 0.05 && o.number(a + "_minus_relu") > 0) ++better;
    if (p <= 0.05 && o.number(a + "_minus_relu") <= 0) ++worse;
    if (p > 0.05) CHECK(o.number(a + "_seeds_needed") != 1);
  }
  const double vit = o.number("vit_verdict");
  CHECK(vit == (better == 3 ? 1.0 : worse > 0 ? 0.0 : -1.0));

  // The language-model part: the char GPT on the fortunes corpus, val loss (lower is better).
  if (!bend::testing::require_available(o.number("lm_measured") == 1, "the fortunes corpus",
                                        "apt-get install fortunes (scripts/install-deps.sh)"))
    return;
  CHECK(o.number("lm_seeds") == 3);
  const double relu_loss = o.number("lm_relu_val_loss");
  CHECK(relu_loss > 1.0);
  CHECK(relu_loss < std::log(120.0));  // below a uniform guess over the ~110 characters: it learned
  int lm_better = 0, lm_worse = 0;
  for (const char* act : {"gelu", "silu", "swiglu"}) {
    INFO(act);
    const std::string a = std::string("lm_") + act;
    // No run diverges here: the paired mean gain is the gap of the means, relu's minus this one's.
    CHECK(o.number(a + "_gain") == Approx(relu_loss - o.number(a + "_val_loss")).margin(1e-9));
    const double p = o.number(a + "_p_holm");
    CHECK(p >= 0.0);
    CHECK(p <= 1.0);
    if (p <= 0.05 && o.number(a + "_gain") > 0) ++lm_better;
    if (p <= 0.05 && o.number(a + "_gain") <= 0) ++lm_worse;
  }
  const double lm = o.number("lm_verdict");
  CHECK(lm == (lm_better == 3 ? 1.0 : lm_worse > 0 ? 0.0 : -1.0));

  // The claim: refuted by either part, reproduced by both, otherwise not settled.
  const double verdict = o.number("verdict");
  CHECK(verdict == (vit == 0 || lm == 0 ? 0.0 : vit == 1 && lm == 1 ? 1.0 : -1.0));
  CHECK(o.reproduced == (verdict == 1.0));
  if (verdict == -1.0) CHECK_THAT(lab::verdict_text(o), Catch::StartsWith("not settled at 3 seeds"));
  if (verdict == 0.0) CHECK(lab::verdict_text(o) == "not reproduced");
  CHECK(o.rows.size() == 8);
  CHECK(o.charts.size() == 2);
}

TEST_CASE("lab claims: bend lab all's page holds every claim, measurement and chart",
          "[lab][claims][mnist]") {
  if (!mnist_available()) return;
  std::vector<lab::LabResult> results;
  for (const lab::Experiment& e : lab::experiments())
    results.push_back(fast_results().at(std::string(e.name)));
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_lab_claims";
  std::filesystem::remove_all(dir);
  const auto files = lab::write_lab_page(results, dir, "bend lab all (test)");
  const std::string html = read_text(dir / "index.html");
  for (const lab::LabResult& r : results) {
    INFO(r.experiment->name);
    CHECK(html.find(plot::html_escape(r.experiment->claim)) != std::string::npos);
    CHECK(html.find(plot::html_escape(r.outcome.measured)) != std::string::npos);
    CHECK_FALSE(r.outcome.charts.empty());
    for (const lab::Chart& c : r.outcome.charts) {
      const std::string file = std::string(r.experiment->name) + "-" + c.file;
      CHECK(std::filesystem::exists(dir / file));
      CHECK(html.find(file) != std::string::npos);
      CHECK(c.svg.find("</svg>") != std::string::npos);
    }
  }
  // table.md: the same claims as a Markdown table, one row per experiment, pipes in the text escaped.
  CHECK(files.back() == dir / "table.md");
  const std::string md = read_text(dir / "table.md");
  CHECK(md.rfind("| experiment | the docs' claim | measured | verdict |\n|---|---|---|---|\n", 0) == 0);
  std::size_t lines = 0;
  for (const char c : md) lines += c == '\n' ? 1 : 0;
  CHECK(lines == 2 + results.size());
  for (const lab::LabResult& r : results) {
    INFO(r.experiment->name);
    const auto row = md.find("| `" + std::string(r.experiment->name) + "` | ");
    REQUIRE(row != std::string::npos);
    const std::string line = md.substr(row, md.find('\n', row) - row);
    std::size_t unescaped = 0;
    for (std::size_t i = 0; i < line.size(); ++i)
      unescaped += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    CHECK(unescaped == 5);
    CHECK_THAT(line, Catch::EndsWith(r.outcome.reproduced ? "| reproduced |" : "| not reproduced |"));
  }
  std::filesystem::remove_all(dir);
}

#ifdef BEND_CLI_PATH
TEST_CASE("lab claims: bend lab prints the verdict line and writes the page", "[lab][claims][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_lab_cli";
  std::filesystem::remove_all(dir);
  const auto r = bend::testing::run_command(std::string(BEND_CLI_PATH) + " lab dip --out " + dir.string());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("claim: " + std::string(lab::find_experiment("dip").claim) + " measured: "));
  CHECK_THAT(r.out, Catch::Contains("→ reproduced"));
  CHECK(std::filesystem::exists(dir / "index.html"));
  CHECK(std::filesystem::exists(dir / "dip-curves.svg"));
  std::filesystem::remove_all(dir);
  CHECK(bend::testing::run_command(std::string(BEND_CLI_PATH) + " lab nope").code == 2);
  CHECK(bend::testing::run_command(std::string(BEND_CLI_PATH) + " lab").code == 2);
  CHECK(bend::testing::run_command(std::string(BEND_CLI_PATH) + " lab xor --epochs -1").code == 2);
  const auto help = bend::testing::run_command(std::string(BEND_CLI_PATH) + " lab --help");
  CHECK(help.code == 0);
  for (const lab::Experiment& e : lab::experiments())
    CHECK_THAT(help.out, Catch::Contains(std::string(e.name)));
}
#endif

// Claims 8-12, each run on its own (fast_settings) so that one can be run without the others.
namespace {
const lab::ClaimOutcome& own_run(const std::string& name) {
  static std::map<std::string, lab::ClaimOutcome> runs;
  if (!runs.contains(name)) {
    static const lab::LabData data{load_dataset("mnist", kMnist, Split::Train),
                                   load_dataset("mnist", kMnist, Split::Test)};
    runs.emplace(name, lab::run_experiment(lab::find_experiment(name), fast_settings(), &data).outcome);
    WARN(lab::verdict_line(lab::find_experiment(name), runs.at(name)));
  }
  return runs.at(name);
}
}  // namespace

TEST_CASE("lab claims: selu", "[lab][claims][mnist][selu]") {
  if (!mnist_available()) return;
  const auto& o = own_run("selu");
  // At init SELU sits at its fixed point; ReLU with LeCun init halves its second moment per layer
  // (2^-32 over 32 layers) and ReLU is never centred.
  CHECK(o.number("selu_max_abs_mean_init") <= 0.25);
  CHECK(o.number("selu_min_variance_init") >= 0.5);
  CHECK(o.number("selu_max_variance_init") <= 2.0);
  CHECK(o.number("relu_lecun_min_variance_init") < 1e-6);
  CHECK(o.number("relu_he_max_abs_mean_init") > 0.2);
  CHECK(o.number("selu_accuracy") > 0.2);  // learns (chance is 10%)
}

TEST_CASE("lab claims: softplus-variance", "[lab][claims][softplus_variance]") {
  const auto o =
      lab::run_experiment(lab::find_experiment("softplus-variance"), fast_settings(), nullptr).outcome;
  WARN(lab::verdict_line(lab::find_experiment("softplus-variance"), o));
  CHECK(o.number("softplus_non_finite_runs") == 0);
  CHECK(o.number("softplus_overflow_steps") == 0);
  CHECK(o.number("paired_runs") >= 1);
  CHECK(std::isfinite(o.number("nll_difference")));
}

TEST_CASE("lab claims: sparse-codes", "[lab][claims][mnist][sparse_codes]") {
  if (!mnist_available()) return;
  const auto& o = own_run("sparse-codes");
  // tanh is 0 only at exactly 0: a dense code.
  CHECK(o.number("tanh_zeros") < 0.01);
  for (const char* act : {"hardshrink", "softshrink", "relu", "tanh"}) {
    INFO(act);
    // Better than predicting zeros (the mean of x² over MNIST pixels is about 0.1).
    CHECK(o.number(std::string(act) + "_mse") < 0.07);
  }
  CHECK(o.number("hardshrink_zeros") > o.number("tanh_zeros"));
  CHECK(o.number("softshrink_zeros") > o.number("tanh_zeros"));
}

TEST_CASE("lab claims: output-activations", "[lab][claims][mnist][output_activations]") {
  if (!mnist_available()) return;
  const auto& o = own_run("output-activations");
  CHECK(o.number("softmax_sigmoid_identity_gap") < 1e-6);
  CHECK(o.number("sigmoid_bce_accuracy") > 0.8);
  CHECK(o.number("softmax2_accuracy") > 0.8);
  CHECK(o.number("relu_hidden_accuracy") > 0.8);
}

TEST_CASE("lab claims: large-step", "[lab][claims][mnist][large_step]") {
  if (!mnist_available()) return;
  const auto& o = own_run("large-step");
  CHECK(o.number("x1_dead_after_step") <= 0.05);
  CHECK(o.number("x100_dead_after_step") > o.number("x1_dead_after_step"));
}

TEST_CASE("lab claims: large-vocab", "[lab][claims][large_vocab]") {
  // A word-level GPT on fortunes, adaptive against full softmax head, at the quick size (a few seconds).
  if (!bend::testing::require_available(
          std::filesystem::is_directory(find_dataset("fortunes").default_dir()), "the fortune files",
          "apt-get install fortunes fortunes-min (scripts/install-deps.sh does)"))
    return;
  const lab::ClaimOutcome o =
      lab::run_experiment(lab::find_experiment("large-vocab"), fast_settings(), nullptr).outcome;
  INFO(lab::verdict_line(lab::find_experiment("large-vocab"), o));
  CHECK(o.number("vocab_size") == 20000);
  CHECK(o.number("unknown_share") > 0.0);  // fortunes has more than 20,000 distinct words
  CHECK(o.number("unknown_share") < 0.1);
  // Both heads learned something in a few steps: below the uniform guess's perplexity (the vocabulary).
  for (const char* head : {"full_perplexity", "adaptive_perplexity"}) {
    INFO(head);
    CHECK(std::isfinite(o.number(head)));
    CHECK(o.number(head) < o.number("vocab_size"));
  }
  CHECK(o.number("perplexity_ratio") ==
        Approx(o.number("adaptive_perplexity") / o.number("full_perplexity")));
  // The verdict follows the named thresholds.
  CHECK(o.reproduced == (o.number("step_time_ratio") <= 0.5 && o.number("perplexity_ratio") <= 1.1));
  REQUIRE(o.charts.size() == 1);
  CHECK(o.charts[0].svg.find("adaptive softmax") != std::string::npos);
}

}  // namespace BEND_UNITY_ID
