// `bend compare --model gpt`: every run trains the char GPT of `bend train --model gpt` on a text with its
// activation and seed; the sweep ranks and tests on the final val loss, lower first; its run files resume
// bit-identically; the diagnostics see each block's MLP; and the CLI writes the report.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bend/autograd.hpp"
#include "bend/data/text.hpp"
#include "bend/error.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/compare_run_file.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/ops.hpp"
#include "bend/stats/seed_comparison.hpp"
#include "bend/train/diagnostics.hpp"
#include "bend/train/gpt_source.hpp"
#include "bend/train/trainer.hpp"
#include "gpt_support.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
namespace fs = std::filesystem;
using bend::testing::small_text;

namespace {

// 2 activations x 2 seeds of a one-block GPT, 20 steps, estimates at 0, 10 and 20.
lab::CompareOptions tiny_sweep() {
  lab::CompareOptions o;
  o.corpus = std::make_shared<const TextCorpus>(make_text_corpus(small_text(), "small", "small"));
  o.gpt = bend::testing::tiny_gpt_config(1, 16);
  o.gpt.bias = false;
  o.base.dataset = "text";
  o.base.optimizer = "adamw";
  o.base.optimizer_options = {{"lr", 1e-2}, {"weight_decay", 0.1}, {"beta2", 0.99}};
  o.base.batch = 4;
  o.base.max_steps = 20;
  o.base.warmup_steps = 2;
  o.base.threads = 1;
  o.base.seed = 5;
  o.base.text.block_size = 16;
  o.base.text.eval_interval = 10;
  o.base.text.eval_iters = 2;
  o.activations = {"relu", "swiglu"};
  o.seeds = 2;
  o.probe_size = 8;
  return o;
}

void require_same_numbers(const lab::RunRecord& a, const lab::RunRecord& b) {
  INFO(a.activation << " seed " << a.seed);
  REQUIRE(a.history.size() == b.history.size());
  for (std::size_t e = 0; e < a.history.size(); ++e) {
    CHECK(a.history[e].train_loss == b.history[e].train_loss);
    CHECK(a.history[e].test_loss == b.history[e].test_loss);
    CHECK(a.history[e].steps == b.history[e].steps);
  }
  REQUIRE(a.diagnostics.size() == b.diagnostics.size());
  for (std::size_t e = 0; e < a.diagnostics.size(); ++e) {
    REQUIRE(a.diagnostics[e].layers.size() == b.diagnostics[e].layers.size());
    for (std::size_t k = 0; k < a.diagnostics[e].layers.size(); ++k) {
      CHECK(a.diagnostics[e].layers[k].weight_grad_norm == b.diagnostics[e].layers[k].weight_grad_norm);
      CHECK(a.diagnostics[e].layers[k].saturated_fraction == b.diagnostics[e].layers[k].saturated_fraction);
    }
  }
}

[[maybe_unused]] std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("compare gpt: seed statistics rank a loss lowest first", "[compare][gpt][stats]") {
  // Two methods over 3 seeds: b's loss is lower at every seed by 0.1 (+ a little noise).
  const std::vector<std::vector<std::optional<double>>> losses = {{2.00, 2.10, 2.05}, {1.91, 1.99, 1.96}};
  stats::ComparisonSettings lower;
  lower.higher_is_better = false;
  const stats::SeedComparison loss = stats::compare_over_seeds({"a", "b"}, losses, lower);
  CHECK(loss.ranking == std::vector<std::size_t>{1, 0});
  CHECK(stats::ranking_line(loss) == "b > a");
  // The same scores read as accuracies rank the other way; the test itself does not depend on direction.
  const stats::SeedComparison accuracy = stats::compare_over_seeds({"a", "b"}, losses);
  CHECK(accuracy.ranking == std::vector<std::size_t>{0, 1});
  CHECK(loss.pairs[0].test.p_value == accuracy.pairs[0].test.p_value);
  CHECK(loss.pairs[0].test.mean_difference == Approx((0.09 + 0.11 + 0.09) / 3));
}

TEST_CASE("compare gpt: each run is bend train --model gpt's run; ranked and tested on val loss",
          "[compare][gpt]") {
  const lab::CompareOptions o = tiny_sweep();
  const lab::CompareResult result = lab::run_compare(o, {}, {});
  REQUIRE(result.runs.size() == 4);
  CHECK(result.metric == lab::CompareMetric::ValLoss);
  CHECK_FALSE(result.statistics.settings.higher_is_better);
  for (const lab::RunRecord& r : result.runs) {
    INFO(r.activation << " seed " << r.seed << ": " << r.error);
    CHECK(r.error.empty());
    REQUIRE(r.history.size() == 3);  // steps 0, 10, 20
    CHECK(r.history.back().steps == 20);
    CHECK(r.history.back().test_loss < r.history.front().test_loss);
  }

  // swiglu seed 6 is the Trainer's own run of that GPT at seed 6.
  train::TrainConfig config = o.base;
  config.seed = 6;
  nn::GPTConfig gpt = o.gpt;
  gpt.activation = "swiglu";
  const train::TrainResult alone =
      train::Trainer(config, train::gpt_source(gpt, o.corpus->vocab_utf8()), *o.corpus).run();
  const lab::RunRecord& swiglu6 = result.runs[3];
  REQUIRE(swiglu6.activation == "swiglu");
  REQUIRE(swiglu6.seed == 6);
  REQUIRE(alone.history.size() == swiglu6.history.size());
  for (std::size_t e = 0; e < alone.history.size(); ++e)
    CHECK(alone.history[e].test_loss == swiglu6.history[e].test_loss);

  // Scores are the last val losses; the ranking puts the lowest mean first.
  REQUIRE(result.summary.size() == 2);
  for (std::size_t a = 0; a < 2; ++a) {
    const double expected =
        (result.runs[2 * a].history.back().test_loss + result.runs[2 * a + 1].history.back().test_loss) / 2;
    CHECK(result.summary[a].final_score.mean == Approx(expected).epsilon(1e-12));
    CHECK(result.summary[a].final_score.n == 2);
    CHECK(result.summary[a].final_accuracy.n == 0);  // no accuracy is measured
  }
  const bool relu_lower = result.summary[0].final_score.mean < result.summary[1].final_score.mean;
  CHECK(result.ranking == (relu_lower ? std::vector<std::string>{"relu", "swiglu"}
                                      : std::vector<std::string>{"swiglu", "relu"}));
  CHECK(result.statistics.ranking.front() == (relu_lower ? 0u : 1u));
  // The paired test is over the same seeds: relu − swiglu per seed.
  const double d0 = result.runs[0].history.back().test_loss - result.runs[2].history.back().test_loss;
  const double d1 = result.runs[1].history.back().test_loss - result.runs[3].history.back().test_loss;
  CHECK(result.statistics.pair(0, 1).test.mean_difference == Approx((d0 + d1) / 2).epsilon(1e-12));

  // Diagnostics: one layer per block (mlp.c_fc and its activation), then lm_head, at init and per estimate.
  for (const lab::RunRecord& r : result.runs) {
    REQUIRE(r.diagnostics.size() == r.history.size());
    REQUIRE(r.initial.layers.size() == 2);
    CHECK(r.initial.layers[0].activation == r.activation);
    CHECK(r.initial.layers[0].units == 64);
    CHECK_FALSE(r.initial.layers[1].has_activation());
    CHECK(r.initial.layers[1].units == o.corpus->vocab_size());
    // probe_size 8, but the val split holds only (val - 1) / block whole windows
    CHECK(r.initial.probe_samples ==
          std::min<std::int64_t>(8, static_cast<std::int64_t>(o.corpus->val.size() - 1) / 16));
    CHECK(r.diagnostics.back().hidden().size() == 1);
    CHECK(r.diagnostics.back().layers[0].weight_grad_norm > 0);
  }

  // The report reads as a loss.
  const std::string table = lab::summary_table_markdown(result);
  CHECK_THAT(table, Catch::Contains("val loss (mean ± std)") && Catch::Contains("s/estimate"));
  const std::string stats = lab::statistics_markdown(result);
  CHECK_THAT(stats, Catch::Contains("final val loss") && Catch::Contains("nats"));
}

TEST_CASE("compare gpt: run files resume bit-identically; other GPT settings are refused", "[compare][gpt]") {
  testing::ScratchDir dir("bend_test_compare_gpt_resume");
  lab::CompareOptions o = tiny_sweep();
  o.run_dir = dir.path();
  o.jobs = 2;
  const lab::CompareResult full = lab::run_compare(o, {}, {});
  for (const lab::RunRecord& r : full.runs)
    CHECK(fs::exists(lab::run_file_path(dir.path(), r.activation, r.seed)));
  fs::remove(lab::run_file_path(dir.path(), "swiglu", 5));
  o.resume = true;
  o.jobs = 1;
  const lab::CompareResult resumed = lab::run_compare(o, {}, {});
  CHECK(resumed.resumed_runs == 3);
  REQUIRE(resumed.runs.size() == full.runs.size());
  for (std::size_t i = 0; i < full.runs.size(); ++i) require_same_numbers(full.runs[i], resumed.runs[i]);
  CHECK(resumed.ranking == full.ranking);

  lab::CompareOptions other = o;
  other.gpt.n_embd = 32;
  CHECK_THROWS_WITH(lab::run_compare(other, {}, {}),
                    Catch::Contains("n_embd") && Catch::Contains("--resume"));
  lab::CompareOptions other_text = o;
  other_text.corpus =
      std::make_shared<const TextCorpus>(make_text_corpus(small_text() + "XYZ", "small", "small"));
  CHECK_THROWS_WITH(lab::run_compare(other_text, {}, {}), Catch::Contains("text"));
}

TEST_CASE("compare gpt: diagnose_gpt measures each block's MLP activation", "[compare][gpt][diagnostics]") {
  nn::GPTConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.block_size = 8;
  c.vocab_size = 11;
  c.activation = "relu";
  Rng rng(3);
  nn::GPT model(c, rng);
  Tensor idx = Tensor::empty(Shape{3, 8});
  std::vector<std::int32_t> targets;
  for (std::int64_t i = 0; i < 24; ++i) {
    idx.data()[i] = static_cast<float>((i * 7) % 11);
    targets.push_back(static_cast<std::int32_t>((i * 5 + 1) % 11));
  }
  model.train();
  const train::Diagnostics d = train::diagnose_gpt(model, idx, targets);
  CHECK(model.is_training());  // the mode is restored
  REQUIRE(d.layers.size() == 3);
  CHECK(d.probe_samples == 3);

  // The same numbers by hand: the pre-activations through the probe, the gradients from our own backward.
  std::vector<std::vector<float>> pre(2);
  model.eval();
  model.set_mlp_probe([&](std::int64_t block, const Tensor& p, const Tensor&) {
    pre[static_cast<std::size_t>(block)].assign(p.data(), p.data() + p.numel());
  });
  model.zero_grad();
  const Tensor logits = model.forward(idx);
  model.set_mlp_probe({});
  const Tensor loss = cross_entropy(reshape(logits, {-1, 11}), targets);
  CHECK(d.probe_loss == Approx(loss.item()).epsilon(1e-6));
  loss.backward();
  const auto grad_norm = [&](const std::string& name) {
    for (const auto& [key, t] : model.named_parameters())
      if (key == name) {
        double sq = 0;
        for (float g : t.grad().span()) sq += static_cast<double>(g) * g;
        return std::sqrt(sq);
      }
    FAIL("no parameter " << name);
    return 0.0;
  };
  for (std::size_t b = 0; b < 2; ++b) {
    INFO("block " << b);
    const train::LayerDiagnostics& l = d.layers[b];
    CHECK(l.activation == "relu");
    CHECK(l.units == 32);
    REQUIRE(pre[b].size() == 24 * 32);
    // ReLU: saturated is the share of pre-activations <= 0; a unit is dead when it is <= 0 on every token.
    std::int64_t off = 0, dead = 0;
    for (float v : pre[b]) off += v <= 0;
    for (std::size_t u = 0; u < 32; ++u) {
      bool alive = false;
      for (std::size_t r = 0; r < 24; ++r) alive = alive || pre[b][r * 32 + u] > 0;
      dead += !alive;
    }
    CHECK(l.saturated_fraction == Approx(static_cast<double>(off) / (24 * 32)));
    CHECK(l.dead_units == dead);
    CHECK(l.weight_grad_norm == Approx(grad_norm(fmt::format("transformer.h.{}.mlp.c_fc.weight", b))));
  }
  CHECK(d.layers[2].weight_grad_norm == Approx(grad_norm("transformer.wte.weight")));
  CHECK(d.grad_norm_ratio == Approx(d.layers[0].weight_grad_norm / d.layers[2].weight_grad_norm));
  // diagnose_gpt left every gradient at zero.
  model.zero_grad();
  const train::Diagnostics again = train::diagnose_gpt(model, idx, targets);
  for (const auto& [name, t] : model.named_parameters())
    if (t.grad().defined())
      for (float g : t.grad().span()) REQUIRE(g == 0.0f);
  CHECK(again.layers[0].weight_grad_norm == d.layers[0].weight_grad_norm);
  CHECK_THROWS_AS(train::diagnose_gpt(model, idx, std::vector<std::int32_t>(5)), ShapeError);
}

#if defined(BEND_CLI_PATH)
TEST_CASE("compare gpt: bend compare --model gpt writes the report and resumes", "[compare][gpt][cli]") {
  testing::ScratchDir dir("bend_test_compare_gpt_cli");
  const fs::path text = dir.path() / "small.txt";
  {
    std::ofstream out(text, std::ios::binary);
    out << small_text();
  }
  const std::string cli = BEND_CLI_PATH;
  const std::string sweep =
      cli + " compare --model gpt --text " + text.string() +
      " --acts relu,gelu --seeds 2 --n-layer 1 --n-head 2 --n-embd 16 --block-size 16 "
      "--batch 4 --steps 10 --eval-interval 5 --eval-iters 2 --warmup-iters 2 --lr 0.01 "
      "--threads 2 --jobs 2 --out " +
      (dir.path() / "out").string();
  const auto first = testing::run_command(sweep);
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK_THAT(first.out,
             Catch::Contains("ranking (val loss, lowest first)") && Catch::Contains("val loss (mean ± std)"));
  const nlohmann::json summary = nlohmann::json::parse(read_text(dir.path() / "out" / "summary.json"));
  CHECK(summary["metric"] == "val_loss");
  CHECK(summary["statistics"]["higher_is_better"] == false);
  CHECK(summary["config"]["gpt"]["n_layer"] == 1);
  REQUIRE(summary["activations"].size() == 2);
  CHECK(summary["activations"][0]["val_loss_mean"].get<double>() > 0);
  CHECK(fs::exists(dir.path() / "out" / "val_loss.svg"));
  CHECK_THAT(read_text(dir.path() / "out" / "report.md"), Catch::Contains("mlp.c_fc"));

  fs::remove(dir.path() / "out" / "runs" / "gelu-seed1.json");
  const auto resumed = testing::run_command(sweep + " --resume");
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resumed: 3 of 4 run(s)"));
  const nlohmann::json again = nlohmann::json::parse(read_text(dir.path() / "out" / "summary.json"));
  REQUIRE(again["activations"].size() == 2);
  for (std::size_t a = 0; a < 2; ++a) {  // the same numbers, to the last bit
    CHECK(again["activations"][a]["val_loss_mean"] == summary["activations"][a]["val_loss_mean"]);
    CHECK(again["activations"][a]["val_loss_std"] == summary["activations"][a]["val_loss_std"]);
    for (std::size_t k = 0; k < 2; ++k)
      CHECK(again["activations"][a]["seed_runs"][k]["final_val_loss"] ==
            summary["activations"][a]["seed_runs"][k]["final_val_loss"]);
  }

  // Flags of image models are refused with one line.
  const auto arch = testing::run_command(sweep + " --arch 784-10");
  CHECK(arch.code == 2);
  CHECK_THAT(arch.out, Catch::Contains("--arch does not apply to --model gpt"));
  CHECK(std::count(arch.out.begin(), arch.out.end(), '\n') == 1);
  const auto text_only = testing::run_command(cli + " compare --text " + text.string());
  CHECK(text_only.code == 2);
  CHECK_THAT(text_only.out, Catch::Contains("--model gpt"));
}
#endif

}  // namespace BEND_UNITY_ID
