// bend compare --preset docs: the docs' six activations on MNIST and on Fashion-MNIST, one report per
// dataset and one page over both (on tiny subsets here; the README's table comes from the full run).
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bend/data/registry.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {
std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("bend compare --preset docs runs the docs' table on MNIST and Fashion-MNIST", "[compare][cli]") {
  // The preset reads each dataset from its default directory; MNIST's is BEND_DATA_DIR here.
  const std::filesystem::path mnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
  const std::filesystem::path fashion = bend::find_dataset("fashion").default_dir();
  if (!bend::testing::require_available(std::filesystem::exists(mnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + mnist.string(), "run data/fetch-mnist.sh") ||
      !bend::testing::require_available(std::filesystem::exists(fashion),
                                        "Fashion-MNIST in " + fashion.string(),
                                        bend::find_dataset("fashion").fetch_hint))
    return;
  const auto out = std::filesystem::temp_directory_path() / "bend_test_compare_preset";
  std::filesystem::remove_all(out);
  const auto r =
      bend::testing::run_command("BEND_DATA_DIR=" + mnist.string() + " " + std::string(BEND_CLI_PATH) +
                                 " compare --preset docs --seeds 2 --epochs 1 --train-limit 256 "
                                 "--test-limit 128 --threads 2 --out " +
                                 out.string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string report = slurp(out / "report.md");
  for (const char* dataset : {"mnist", "fashion"}) {
    INFO(dataset);
    CHECK(std::filesystem::exists(out / dataset / "accuracy.svg"));
    CHECK(std::filesystem::exists(out / dataset / "summary.json"));
  }
  // One heading per dataset, by the name people use (not "mnist (handwritten digits 0-9 (...))").
  CHECK_THAT(report, Catch::Contains("## MNIST\n") && Catch::Contains("## Fashion-MNIST\n"));
  CHECK_THAT(report, !Catch::Contains("mnist (handwritten"));
  // The table over both datasets, as the README shows it: a row per activation, mean ± std on each.
  CHECK_THAT(report, Catch::Contains("| activation | MNIST | Fashion-MNIST | dead units L1/L2 (MNIST) |"));
  for (const char* act : {"sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"}) {
    const auto row = report.find(std::string("\n| ") + act + " | ");
    REQUIRE(row != std::string::npos);
    const std::string line = report.substr(row + 1, report.find('\n', row + 1) - row - 1);
    INFO(line);
    CHECK(std::count(line.begin(), line.end(), '|') == 5);
    CHECK(line.find(" ± ") != std::string::npos);
  }
  for (const char* act : {"sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"})
    CHECK_THAT(report, Catch::Contains(act));
  CHECK_THAT(report, Catch::Contains("--preset docs"));
  // The page is an HtmlReport like the others (its stylesheet, a sans font), with the same table.
  const std::string page = slurp(out / "index.html");
  CHECK_THAT(page, Catch::Contains("mnist/accuracy.svg") && Catch::Contains("fashion/accuracy.svg"));
  CHECK_THAT(page, Catch::Contains("sans-serif") && Catch::Contains("<h2>MNIST</h2>") &&
                       Catch::Contains("<th>Fashion-MNIST</th>") && Catch::Contains("<td>leaky_relu</td>") &&
                       Catch::Contains("<a href=\"mnist/index.html\">"));
  std::filesystem::remove_all(out);
}

TEST_CASE("bend compare --preset refuses unknown presets and flags it chooses itself", "[compare][cli]") {
  const std::string cli = std::string(BEND_CLI_PATH) + " compare ";
  const auto unknown = bend::testing::run_command(cli + "--preset fast");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.out, Catch::Contains("'fast'") && Catch::Contains("docs"));
  const auto dataset = bend::testing::run_command(cli + "--preset docs --dataset emnist-letters");
  CHECK(dataset.code == 2);
  CHECK_THAT(dataset.out, Catch::Contains("--preset docs chooses"));
}
#endif

}  // namespace BEND_UNITY_ID
