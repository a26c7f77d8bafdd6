// Tests for the statistics in `bend compare`'s reports, on small synthetic CompareResults (no training):
// intervals per activation, pairwise tests with Holm, groups, seeds needed, ± std bands in the accuracy
// chart, --seeds 1, and a diverged run left out of the means.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bend/lab/compare.hpp"
#include "bend/stats/sample_summary.hpp"
#include "bend/stats/seed_comparison.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

// A run whose test accuracy climbs linearly to `final_accuracy` over `epochs` epochs.
lab::RunRecord run(const std::string& act, std::uint64_t seed, double final_accuracy, int epochs = 3) {
  lab::RunRecord r;
  r.activation = act;
  r.seed = seed;
  for (int e = 1; e <= epochs; ++e) {
    train::EpochMetrics m;
    m.epoch = e;
    m.test_accuracy = final_accuracy - 0.01 * (epochs - e);
    m.train_accuracy = m.test_accuracy;
    m.train_loss = 0.5 / e;
    m.test_loss = 0.5 / e;
    m.seconds = 1;
    r.history.push_back(m);
    r.diagnostics.emplace_back();
  }
  return r;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

lab::CompareOptions options_for(int seeds) {
  lab::CompareOptions o;
  o.activations = {"relu", "gelu", "silu"};
  o.seeds = seeds;
  o.command_line = "bend compare (synthetic)";
  return o;
}

}  // namespace

TEST_CASE("compare statistics: intervals, Holm pairs, groups and seeds needed reach every report",
          "[lab][stats]") {
  // gelu and silu close; relu clearly below; 5 seeds.
  const std::vector<double> relu{0.9771, 0.9790, 0.9752, 0.9789, 0.9760};
  const std::vector<double> gelu{0.9786, 0.9811, 0.9779, 0.9811, 0.9783};
  const std::vector<double> silu{0.9790, 0.9805, 0.9782, 0.9806, 0.9780};
  lab::CompareResult result;
  for (const auto& [name, acc] : std::vector<std::pair<std::string, std::vector<double>>>{
           {"relu", relu}, {"gelu", gelu}, {"silu", silu}})
    for (std::size_t k = 0; k < acc.size(); ++k) result.runs.push_back(run(name, k, acc[k]));
  lab::summarize(result);

  REQUIRE(result.summary.size() == 3);
  const stats::SampleSummary expected_gelu = stats::summarize_sample(gelu);
  CHECK(result.summary[1].final_accuracy.n == 5);
  CHECK(result.summary[1].final_accuracy.mean == Approx(expected_gelu.mean).epsilon(1e-12));
  CHECK(result.summary[1].final_accuracy.ci_low == Approx(expected_gelu.ci_low).epsilon(1e-12));
  // Best accuracy of a climbing run is its last epoch's.
  CHECK(result.summary[1].best_accuracy.mean == Approx(expected_gelu.mean).epsilon(1e-12));
  CHECK(result.statistics.has_statistics());
  CHECK(stats::ranking_line(result.statistics) == "gelu ≈ silu > relu");

  const std::string md = lab::statistics_markdown(result);
  CHECK(md.find("Ranking at 5 seeds") != std::string::npos);
  CHECK(md.find("gelu ≈ silu > relu") != std::string::npos);
  CHECK(md.find("Holm") != std::string::npos);
  CHECK(md.find(fmt::format("[{:.2f}, {:.2f}]%", 100 * expected_gelu.ci_low, 100 * expected_gelu.ci_high)) !=
        std::string::npos);
  CHECK(md.find("The smallest unresolved gap, gelu − silu") != std::string::npos);
  const auto& gelu_silu = result.statistics.pair(1, 2);
  REQUIRE(gelu_silu.seeds_needed.has_value());
  CHECK(md.find(fmt::format("needs about {} seeds", *gelu_silu.seeds_needed)) != std::string::npos);
  CHECK(count(md, "| gelu − relu |") == 1);  // pairs oriented better − worse
  CHECK(md.find("nan") == std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / "bend_test_compare_statistics";
  std::filesystem::remove_all(dir);
  lab::write_compare_report(options_for(5), result, dir);
  const std::string report = read(dir / "report.md");
  CHECK(report.find("## Statistics over seeds") != std::string::npos);
  CHECK(report.find("gelu ≈ silu > relu") != std::string::npos);
  const std::string html = read(dir / "index.html");
  CHECK(html.find("Statistics over seeds") != std::string::npos);
  CHECK(html.find("gelu ≈ silu &gt; relu") != std::string::npos);
  CHECK(html.find("p (Holm)") != std::string::npos);
  // One ± std band per activation in the accuracy chart.
  CHECK(count(read(dir / "accuracy.svg"), "fill-opacity=\"0.15\"") == 3);

  const auto json = nlohmann::json::parse(read(dir / "summary.json"));
  const auto& st = json.at("statistics");
  CHECK(st.at("enough_seeds") == true);
  CHECK(st.at("max_seeds") == 5);
  REQUIRE(st.at("pairs").size() == 3);
  const auto& p01 = st.at("pairs")[0];  // relu vs gelu
  CHECK(p01.at("first") == "relu");
  CHECK(p01.at("second") == "gelu");
  CHECK(p01.at("p_holm").get<double>() == Approx(result.statistics.pairs[0].p_holm));
  CHECK(p01.at("ci95").size() == 2);
  CHECK(st.at("groups").size() == 2);
  CHECK(st.at("groups")[0] == nlohmann::json({"gelu", "silu"}));
  CHECK(st.at("activations")[1].at("final_test_accuracy").at("ci95")[0].get<double>() ==
        Approx(expected_gelu.ci_low));
  CHECK(st.at("smallest_unresolved_gap").at("seeds_needed") == *gelu_silu.seeds_needed);
  std::filesystem::remove_all(dir);
}

TEST_CASE("compare statistics: --seeds 1 says statistics need 2 seeds, with no NaN anywhere",
          "[lab][stats]") {
  lab::CompareResult result;
  result.runs = {run("relu", 0, 0.97), run("gelu", 0, 0.98), run("silu", 0, 0.975)};
  lab::summarize(result);
  CHECK_FALSE(result.statistics.has_statistics());
  const std::string md = lab::statistics_markdown(result);
  CHECK(md.find("Statistics need at least 2 seeds") != std::string::npos);
  CHECK(md.find("needs ≥ 2 seeds") != std::string::npos);
  CHECK(md.find("Ranking at") == std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / "bend_test_compare_statistics_one_seed";
  std::filesystem::remove_all(dir);
  lab::write_compare_report(options_for(1), result, dir);
  for (const char* name : {"report.md", "index.html", "summary.json", "accuracy.svg"}) {
    const std::string text = read(dir / name);
    INFO(name);
    CHECK(text.find("nan") == std::string::npos);
    CHECK(text.find("NaN") == std::string::npos);
  }
  CHECK(read(dir / "report.md").find("Statistics need at least 2 seeds") != std::string::npos);
  CHECK(read(dir / "index.html").find("Statistics need at least 2 seeds") != std::string::npos);
  CHECK(count(read(dir / "accuracy.svg"), "fill-opacity") == 0);  // no band from one run
  const auto json = nlohmann::json::parse(read(dir / "summary.json"));
  CHECK(json.at("statistics").at("enough_seeds") == false);
  CHECK_FALSE(json.at("statistics").at("activations")[0].at("final_test_accuracy").contains("ci95"));
  CHECK_FALSE(json.at("statistics").at("pairs")[0].contains("p_value"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("compare statistics: a diverged run is left out of the means and the report says so",
          "[lab][stats]") {
  lab::CompareResult result;
  result.runs = {run("relu", 0, 0.97), run("relu", 1, 0.972), run("relu", 2, 0.968),
                 run("gelu", 0, 0.98), run("gelu", 1, 0.10),  run("gelu", 2, 0.982)};
  result.runs[4].error = "diverged: loss is nan at epoch 2";
  lab::summarize(result);
  const stats::SampleSummary& g = result.summary[1].final_accuracy;
  CHECK(g.n == 2);
  CHECK(g.mean == Approx(0.981));
  CHECK(result.statistics.pair(0, 1).test.n == 2);  // seeds 0 and 2 only
  const std::string md = lab::statistics_markdown(result);
  CHECK(md.find("Diverged runs, left out of the means, intervals and paired tests: gelu seed 1.") !=
        std::string::npos);
  CHECK(md.find("| gelu | 2 of 3 |") != std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / "bend_test_compare_statistics_diverged";
  std::filesystem::remove_all(dir);
  lab::write_compare_report(options_for(3), result, dir);
  const auto json = nlohmann::json::parse(read(dir / "summary.json"));
  REQUIRE(json.at("statistics").at("left_out_runs").size() == 1);
  CHECK(json.at("statistics").at("left_out_runs")[0].at("seed") == 1);
  CHECK(read(dir / "index.html").find("Diverged runs, left out of the means") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace BEND_UNITY_ID
