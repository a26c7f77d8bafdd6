// The activation lab: the compare runner's report files agree with its runs, and the lab experiments
// show the docs' claims in the right direction on small synthetic configurations.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bend/lab/collapse.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/dying_relu.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/lab/vanishing.hpp"
#include "bend/lab/xor.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/rng.hpp"
#include "bend/train/diagnostics.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

// Points in 16 dimensions whose class is the argmax of three fixed projections: learnable in an epoch.
TensorDataset synthetic(std::int64_t n, std::uint64_t seed) {
  Rng rng(seed);
  TensorDataset d;
  d.images = Tensor::uniform({n, 16}, 0.0f, 1.0f, rng);
  d.rows = 4;
  d.cols = 4;
  d.num_classes = 3;
  d.name = "synthetic";
  const float* x = d.images.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float score[3] = {0, 0, 0};
    for (int k = 0; k < 16; ++k) score[k % 3] += x[i * 16 + k] * (k < 8 ? 1.0f : -0.5f);
    d.labels.push_back(static_cast<std::int32_t>(std::max_element(score, score + 3) - score));
  }
  return d;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream s(line);
  while (std::getline(s, cell, sep)) out.push_back(cell);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

}  // namespace

TEST_CASE("lab: activation lists", "[lab]") {
  const auto def = lab::parse_activation_list("default");
  CHECK(def == std::vector<std::string>{"sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"});
  const auto all = lab::parse_activation_list("all");
  CHECK(all.size() > def.size());
  CHECK(std::find(all.begin(), all.end(), "prelu") != all.end());
  CHECK(lab::parse_activation_list("relu, swish,relu") == std::vector<std::string>{"relu", "silu"});
  CHECK_THROWS_AS(lab::parse_activation_list("relu,nope"), ValueError);
  CHECK(lab::parse_activation_list("relu,SwiGLU") == std::vector<std::string>{"relu", "swiglu"});
  CHECK_THROWS_AS(lab::parse_activation_list(""), ValueError);  // as `train --act ''`: not the default
  CHECK_THROWS_AS(lab::parse_activation_list(" "), ValueError);
}

TEST_CASE("lab: the compare runner writes a report that agrees with its runs", "[lab]") {
  const TensorDataset train = synthetic(256, 1), test = synthetic(128, 2);
  lab::CompareOptions options;
  options.arch = "16-12-8-3";
  options.base.epochs = 2;
  options.base.batch = 32;
  options.base.threads = 1;
  options.activations = {"sigmoid", "relu"};
  options.seeds = 2;
  options.probe_size = 64;
  options.command_line = "bend compare (test)";
  const lab::CompareResult result = lab::run_compare(options, train, test);
  REQUIRE(result.runs.size() == 4);
  CHECK(result.runs[0].seed == result.runs[2].seed);  // same seeds across activations
  CHECK(result.runs[0].seed != result.runs[1].seed);
  for (const auto& r : result.runs) {
    CHECK(r.error.empty());
    REQUIRE(r.history.size() == 2);
    REQUIRE(r.diagnostics.size() == 2);
    CHECK(r.initial.layers.size() == 3);
    CHECK(r.diagnostics.back().hidden().size() == 2);
  }
  REQUIRE(result.summary.size() == 2);
  CHECK(result.ranking.size() == 2);

  const auto dir = std::filesystem::temp_directory_path() / "bend_test_lab_compare";
  std::filesystem::remove_all(dir);
  const auto files = lab::write_compare_report(options, result, dir);
  for (const char* name : {"report.md", "curves.csv", "summary.json", "accuracy.svg", "loss.svg",
                           "grad_norms.svg", "dead_saturated.svg", "index.html"})
    CHECK(std::filesystem::exists(dir / name));

  // curves.csv: one row per epoch of every run, numbers as in the runs.
  std::ifstream csv(dir / "curves.csv");
  std::string line;
  std::getline(csv, line);
  const auto header = split(line, ',');
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  REQUIRE(col.count("test_accuracy"));
  REQUIRE(col.count("grad_norm_3"));
  REQUIRE(col.count("dead_fraction_2"));
  REQUIRE(col.count("saturated_fraction_2"));
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    const auto cells = split(line, ',');
    REQUIRE(cells.size() == header.size());
    const std::size_t run = rows / 2, epoch = rows % 2;
    const auto& r = result.runs[run];
    CHECK(cells[0] == r.activation);
    CHECK(std::stoull(cells[1]) == r.seed);
    CHECK(std::stoll(cells[2]) == static_cast<long long>(epoch + 1));
    CHECK(std::stod(cells[col["test_accuracy"]]) == Approx(r.history[epoch].test_accuracy));
    CHECK(std::stod(cells[col["grad_norm_1"]]) == Approx(r.diagnostics[epoch].layers[0].weight_grad_norm));
    CHECK(std::stod(cells[col["dead_fraction_2"]]) ==
          Approx(r.diagnostics[epoch].hidden()[1]->dead_fraction));
    ++rows;
  }
  CHECK(rows == 8);

  // summary.json: the means over seeds of the last epoch.
  const auto j = nlohmann::json::parse(read_text(dir / "summary.json"));
  REQUIRE(j["activations"].size() == 2);
  for (std::size_t a = 0; a < 2; ++a) {
    const auto& s = j["activations"][a];
    const double mean = (result.runs[2 * a].history.back().test_accuracy +
                         result.runs[2 * a + 1].history.back().test_accuracy) /
                        2;
    CHECK(s["activation"] == options.activations[a]);
    CHECK(s["test_accuracy_mean"].get<double>() == Approx(mean));
    CHECK(s["seed_runs"].size() == 2);
    CHECK(s["dead_fraction"].size() == 2);
    CHECK(s["grad_norms"].size() == 3);
  }
  CHECK(j["ranking"].size() == 2);

  // Well-formed SVGs and a page that shows them.
  for (const char* name : {"accuracy.svg", "loss.svg", "grad_norms.svg", "dead_saturated.svg"}) {
    const std::string svg = read_text(dir / name);
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.rfind("</svg>") != std::string::npos);
  }
  const std::string html = read_text(dir / "index.html");
  CHECK(html.find("accuracy.svg") != std::string::npos);
  CHECK(html.find("grad_norms.svg") != std::string::npos);
  const std::string md = read_text(dir / "report.md");
  CHECK(md.find("| sigmoid |") != std::string::npos);
  CHECK(md.find("| relu |") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("lab: a stack of Linear layers equals its product matrix", "[lab]") {
  Rng rng(3);
  nn::Sequential stack =
      nn::build_model(nn::ModelSpec::mlp({12, 9, 7, 5}, "none"), nn::init::Scheme::Torch, rng);
  const Tensor x = Tensor::uniform({20, 12}, -1.0f, 1.0f, rng);
  const lab::CollapseCheck c = lab::collapse_linear_stack(stack, x);
  CHECK(c.product_weight.shape() == Shape({5, 12}));
  CHECK(c.product_bias.shape() == Shape({5}));
  CHECK(c.max_abs_output > 0.01);
  CHECK(c.max_abs_difference < 1e-5);
  nn::Sequential bent =
      nn::build_model(nn::ModelSpec::mlp({12, 9, 7, 5}, "tanh"), nn::init::Scheme::Torch, rng);
  CHECK_THROWS_AS(lab::collapse_linear_stack(bent, x), ValueError);
}

TEST_CASE("lab: XOR is solved only with a nonlinearity", "[lab]") {
  const lab::XorResult linear = lab::train_xor("", 8, 1500, 0.05, 1);
  CHECK(linear.final_loss > 0.99 * lab::kXorLinearBestLoss);
  CHECK(linear.accuracy <= 0.75);
  REQUIRE(linear.loss_curve.size() == 150);
  for (const char* act : {"relu", "tanh", "gelu"}) {
    const lab::XorResult r = lab::train_xor(act, 8, 1500, 0.05, 1);
    INFO(act);
    CHECK(r.final_loss < 0.05);
    CHECK(r.accuracy == 1.0);
    CHECK(r.outputs[0] < 0.1);
    CHECK(r.outputs[1] > 0.9);
  }
}

TEST_CASE("lab: fit trains with the Trainer, and reports divergence instead of throwing", "[lab]") {
  const TensorDataset train = synthetic(512, 5), test = synthetic(256, 6);
  Rng rng(2);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp({16, 32, 3}, "relu"), nn::init::Scheme::Auto, rng);
  lab::TrainSettings s;
  s.lr = 1e-2;
  s.epochs = 3;
  s.batch = 32;
  const lab::TrainOutcome ok = lab::fit(net, train, test, s);
  CHECK_FALSE(ok.diverged);
  REQUIRE(ok.test_accuracy.size() == 3);
  CHECK(ok.final_test_accuracy() > 0.6);
  CHECK(ok.train_loss.back() < ok.train_loss.front());

  // (ReLUs would just die at a huge step: a linear model overflows instead.)
  nn::Sequential wild = nn::build_model(nn::ModelSpec::mlp({16, 3}, "none"), nn::init::Scheme::Auto, rng);
  s.optimizer = "sgd";
  s.lr = 1e38;
  const lab::TrainOutcome bad = lab::fit(wild, train, test, s);
  CHECK(bad.diverged);

  // A shifted bias of -100 kills every hidden ReLU from the start.
  nn::Sequential dead = nn::build_model(nn::ModelSpec::mlp({16, 32, 3}, "relu"), nn::init::Scheme::Auto, rng);
  for (float& b : dead.get_if<nn::Linear>(0)->bias.span()) b -= 100.0f;
  const auto d = train::diagnose(dead, test, 64);
  CHECK(d.hidden()[0]->dead_fraction == 1.0);
}

TEST_CASE("lab: the experiment runs of bend lab", "[lab]") {
  const TensorDataset train = synthetic(256, 7), test = synthetic(128, 8);
  const TensorDataset probe = train::probe_batch(test, 64);
  lab::TrainSettings s;
  s.epochs = 1;
  s.batch = 32;
  s.lr = 1e-2;

  SECTION("collapse: the stack stays one matrix through training, three models trained") {
    int checked = 0;
    const lab::CollapseExperiment c = lab::run_collapse({16, 12, 8, 3}, "relu", s, train, test, probe,
                                                        [&](const lab::CollapseCheck&) { ++checked; });
    CHECK(checked == 1);
    REQUIRE(c.models.size() == 3);
    CHECK(c.models[0].parameters == 16 * 3 + 3);
    CHECK(c.models[2].name.find("with one relu") != std::string::npos);
    CHECK(c.before.max_abs_difference < 1e-5);
    CHECK(c.after.max_abs_difference < 1e-4);
    for (const auto& m : c.models) CHECK(m.outcome.test_accuracy.size() == 1);
  }

  SECTION("xor: the linear model first, it cannot beat P = 0.5 everywhere") {
    const auto r = lab::run_xor({"tanh"}, 8, 1500, 0.05, 1);
    REQUIRE(r.size() == 2);
    CHECK(r[0].activation.empty());
    CHECK(r[0].final_loss > lab::kXorLinearBestLoss - 0.01);
    CHECK(r[1].final_loss < 0.05);
    CHECK(r[1].loss_curve.size() == 1500 / lab::kXorCurveStride);
  }

  SECTION("vanishing: per-layer diagnostics at init and after, sigmoid's bound") {
    CHECK(lab::sigmoid_gradient_bound(3) == Approx(0.015625));
    std::vector<std::string> seen;
    const auto runs = lab::run_vanishing(6, 8, {"sigmoid", "relu"}, nn::init::Scheme::Auto, s, train, test,
                                         probe, [&](const lab::VanishingRun& r) { seen.push_back(r.act); });
    CHECK(seen == std::vector<std::string>{"sigmoid", "relu"});
    REQUIRE(runs.size() == 2);
    for (const auto& r : runs) {
      CHECK(r.init.layers.size() == 7);
      CHECK(r.trained.hidden().size() == 6);
      CHECK(r.init.grad_norm_ratio > 0);
    }
    // Sigmoid's gradient shrinks towards the input far more than ReLU's with a gain-matched init.
    CHECK(runs[0].init.grad_norm_ratio < runs[1].init.grad_norm_ratio);
  }

  SECTION("dying-relu: killed ReLU units get no gradient and stay silent; leaky ones get a gradient") {
    const lab::DyingReluRun relu =
        lab::run_dying_relu({16, 32, 3}, "relu", 0.5, -100.0f, s, train, test, train);
    const lab::DyingReluRun leaky =
        lab::run_dying_relu({16, 32, 3}, "leaky_relu", 0.5, -100.0f, s, train, test, train);
    REQUIRE(relu.silent.size() == 2);  // after the kill, after the one epoch
    CHECK(relu.silent[0] >= 0.5);      // the 16 killed units, and any the init left silent
    CHECK(relu.silent[1] >= relu.silent[0]);
    CHECK(relu.killed_bias_grad == 0.0);
    CHECK(leaky.silent[0] == relu.silent[0]);  // same init, same killed units
    CHECK(leaky.killed_bias_grad > 0.0);
    const lab::DyingReluRun healthy =
        lab::run_dying_relu({16, 32, 3}, "relu", 0.0, 0.0f, s, train, test, train);
    CHECK_FALSE(healthy.killed);
    CHECK(healthy.silent[0] < 0.5);
  }
}

}  // namespace BEND_UNITY_ID
