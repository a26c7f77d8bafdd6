// bend lab's experiments for claims 1-7 of issue 25, at `bend lab --quick`'s sizes: each verdict is
// checked against numbers computed here independently (closed forms in double), not against stored results.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <optional>

#include "bend/activations.hpp"
#include "bend/data/registry.hpp"
#include "bend/lab/claims.hpp"
#include "bend/lab/guide.hpp"
#include "requirements.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";

const lab::LabData* mnist() {
  static std::optional<lab::LabData> data;
  std::error_code ec;
  const bool present = std::filesystem::exists(kMnist / "train-labels-idx1-ubyte", ec) ||
                       std::filesystem::exists(kMnist / "train-labels-idx1-ubyte.gz", ec);
  if (!bend::testing::require_available(present, "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh"))
    return nullptr;
  if (!data)
    data =
        lab::LabData{load_dataset("mnist", kMnist, Split::Train), load_dataset("mnist", kMnist, Split::Test)};
  return &*data;
}

lab::ClaimOutcome run(const char* name, const lab::LabData* data = nullptr) {
  const lab::Experiment& e = lab::find_experiment(name);
  lab::ClaimOutcome o = lab::run_experiment(e, lab::quick_settings(), data).outcome;
  INFO(lab::verdict_line(e, o));
  CHECK_FALSE(o.measured.empty());
  CHECK_FALSE(o.charts.empty());
  for (const lab::Chart& c : o.charts) CHECK(c.svg.find("</svg>") != std::string::npos);
  return o;
}

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }
double silu(double x) { return x / (1 + std::exp(-x)); }
double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi); }

}  // namespace

TEST_CASE("lab claims 1-7: the table names them", "[lab][claims]") {
  for (const char* name :
       {"relu-sparsity", "gelu-noise", "silu-twin", "cost", "zero-centred", "explode", "universal-approx"})
    CHECK(lab::find_experiment(name).name == name);
  CHECK(lab::quick_settings().quick);
  CHECK_FALSE(lab::LabSettings{}.quick);
}

TEST_CASE("lab claims: gelu-noise, the gate reading is GELU, ReLU(x + noise) is not", "[lab][claims]") {
  const auto o = run("gelu-noise");
  CHECK(o.number("gate_worst_z") <= 5.0);
  // E[ReLU(x+ε)] = x·Φ(x) + φ(x): the Monte Carlo agrees with that, and its gap to GELU peaks at φ(0).
  CHECK(o.number("relu_vs_gelu_plus_phi_worst_z") <= 5.0);
  CHECK(o.number("relu_max_gap") == Approx(phi(0)).margin(0.01));
  CHECK(std::fabs(o.number("relu_max_gap_at")) <= 0.3);
  CHECK_FALSE(o.reproduced);  // the docs' words name the ReLU(x + ε) reading
  CHECK(o.settled);
}

TEST_CASE("lab claims: silu-twin, the gaps to GELU", "[lab][claims]") {
  const auto o = run("silu-twin");
  double gap = 0, scaled = 0;
  for (double x = -6; x <= 6; x += 1e-3) {
    gap = std::max(gap, std::fabs(silu(x) - gelu(x)));
    scaled = std::max(scaled, std::fabs(x / (1 + std::exp(-1.702 * x)) - gelu(x)));
  }
  CHECK(o.number("silu_max_gap") == Approx(gap).margin(1e-3));
  CHECK(o.number("scaled_max_gap") == Approx(scaled).margin(1e-3));
  CHECK(o.number("scaled_max_gap") < 0.05);
  CHECK(o.reproduced == (gap <= 0.05));
}

TEST_CASE("lab claims: explode, unbounded activations grow through depth, bounded ones cannot",
          "[lab][claims]") {
  const auto o = run("explode");
  // 2× the He init doubles a ReLU net's RMS per layer: 2^19 over the 20 layers of the quick settings (give
  // or take the random fluctuation of 19 products of width-64 layers).
  CHECK(std::fabs(std::log2(o.number("relu_growth")) - 19) < 3);
  CHECK(o.number("leaky_relu_growth") > 1e3);
  CHECK(o.number("relu_per_layer") == Approx(std::pow(o.number("relu_growth"), 1.0 / 19)));
  for (const char* a : {"tanh", "sigmoid", "hardtanh"}) {
    INFO(a);
    CHECK(o.number(std::string(a) + "_last_rms") <= 1.0);
  }
  CHECK(o.reproduced);
}

TEST_CASE("lab claims: universal-approx, width beats the line on continuous functions", "[lab][claims]") {
  const auto o = run("universal-approx");
  // The least-squares line on the symmetric grid: |x| → its mean 1/2 (RMSE √(1/12)); the step → 1/2 + 3x/4.
  CHECK(o.number("abs_linear_rmse") == Approx(std::sqrt(1.0 / 12)).epsilon(0.02));
  for (const char* f : {"sin", "abs", "step"}) {
    INFO(f);
    const std::string k(f);
    CHECK(o.number(k + "_widest_rmse") < o.number(k + "_width1_rmse"));
    CHECK(o.number(k + "_widest_rmse") < o.number(k + "_linear_rmse"));
  }
  CHECK(o.number("step_widest_max_error") > 0.3);  // a continuous net cannot follow the jump
  CHECK(o.reproduced);
}

TEST_CASE("lab claims: relu-sparsity at init and after training", "[lab][claims][mnist]") {
  const lab::LabData* data = mnist();
  if (!data) return;
  const auto o = run("relu-sparsity", data);
  // He init, zero biases, symmetric weights: a pre-activation is ≤ 0 about half the time.
  CHECK(o.number("silent_init_layer1") == Approx(0.5).margin(0.1));
  CHECK(o.number("silent_trained_layer1") > 0.0);
  CHECK(o.number("silent_trained_layer1") < 1.0);
  CHECK(o.number("accuracy") > 0.8);
}

TEST_CASE("lab claims: cost of every activation", "[lab][claims][mnist]") {
  const lab::LabData* data = mnist();
  if (!data) return;
  const auto o = run("cost", data);
  for (const ActivationInfo& a : activation_table()) {
    INFO(a.name);
    CHECK(o.number(std::string(a.name) + "_forward_ns") > 0);
    CHECK(o.number(std::string(a.name) + "_epoch_share") > 0);
    CHECK(o.number(std::string(a.name) + "_epoch_share") < 1);
  }
  // erf against a comparison: GELU's forward is dearer than ReLU's on any CPU.
  CHECK(o.number("gelu_forward_ns") > o.number("relu_forward_ns"));
}

TEST_CASE("lab claims: zero-centred, sign agreement and the seed verdict", "[lab][claims][mnist]") {
  const lab::LabData* data = mnist();
  if (!data) return;
  const auto o = run("zero-centred", data);
  // Sigmoid outputs are positive: every entry of a row of the per-example weight gradient has one sign.
  CHECK(o.number("sigmoid_sign_per_example") == Approx(1.0));
  CHECK(o.number("centred_sign_per_example") < 0.5);
  CHECK(o.number("tanh_sign_per_example") < 0.5);
  CHECK(o.seeds == 4);
  if (!o.settled) {
    CHECK_FALSE(o.reproduced);
    CHECK(lab::verdict_text(o).starts_with("not settled at 4 seeds"));
  } else {
    CHECK(o.reproduced == (o.number("centring_gain") > 0));
  }
}

TEST_CASE("lab guide: every row of the docs' tables, with what measured it", "[lab][claims][guide]") {
  // Two cheap experiments run; every other name is "not run" (in the table) or "not measured yet".
  std::vector<lab::LabResult> results;
  for (const char* name : {"silu-twin", "dip"})
    results.push_back(lab::run_experiment(lab::find_experiment(name), lab::quick_settings(), nullptr));
  const auto rows = lab::guide_rows();
  REQUIRE(rows.size() == 18);  // 9 selection-guide rows, 5 of the short table, 4 properties
  std::size_t topics_found = 0;
  for (const char* topic :
       {"Default hidden layers", "Transformers / NLP", "Mobile / edge inference", "Multi-class output",
        "Binary output", "Large vocabulary NLP", "Variance / positive params", "Self-normalizing networks",
        "Sparse representations", "Output range", "Smoothness", "Monotonicity", "Zero-centering"})
    for (const auto& r : rows) topics_found += r.topic == topic ? 1 : 0;
  CHECK(topics_found == 13);
  for (const auto& row : rows) {
    INFO(row.topic);
    CHECK((!row.experiments.empty() || !row.untested.empty()));
    for (const lab::GuideCell& c : lab::guide_cells(row, results)) {
      INFO(c.name);
      bool exists = false;
      for (const lab::Experiment& e : lab::experiments()) exists = exists || e.name == c.name;
      CHECK(c.in_table == exists);
      if (c.ran)
        CHECK(c.verdict == lab::verdict_text(results[c.name == "dip" ? 1 : 0].outcome));
      else
        CHECK(c.verdict == (exists ? "not run" : "not measured yet"));
    }
  }
  bool rnn_said = false;
  for (const auto& r : lab::guide_table(results, false))
    rnn_said = rnn_said || (r[1] == "Tanh" && r[4].find("not tested") != std::string::npos);
  CHECK(rnn_said);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_lab_guide_laba";
  std::filesystem::remove_all(dir);
  const auto files = lab::write_guide(results, dir);
  REQUIRE(files.size() == 2);
  for (const auto& f : files) CHECK(std::filesystem::file_size(f) > 1000);
  std::ifstream md(dir / "guide.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  CHECK(text.find("| selection guide | Mobile / edge inference |") != std::string::npos);
  CHECK(text.find("silu-twin: " + lab::verdict_text(results[0].outcome)) != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace BEND_UNITY_ID
