// `bend compare` as a sweep: runs at once (--jobs, each on its own ThreadBudget) and over MPI ranks
// give the numbers of runs made one by one; per-run files round-trip every number and let --resume
// run only what is missing; a failed run is recorded and the rest finish.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bend/error.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/compare_run_file.hpp"
#include "bend/rng.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

// Points in 8 dimensions whose class is the argmax of two fixed projections.
TensorDataset synthetic(std::int64_t n, std::uint64_t seed) {
  Rng rng(seed);
  TensorDataset d;
  d.images = Tensor::uniform({n, 8}, 0.0f, 1.0f, rng);
  d.rows = 2;
  d.cols = 4;
  d.num_classes = 2;
  d.name = "synthetic";
  const float* x = d.images.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float score[2] = {0, 0};
    for (int k = 0; k < 8; ++k) score[k % 2] += x[i * 8 + k] * (k < 4 ? 1.0f : -0.5f);
    d.labels.push_back(score[0] > score[1] ? 0 : 1);
  }
  return d;
}

lab::CompareOptions small_sweep() {
  lab::CompareOptions o;
  o.arch = "8-6-2";
  o.base.epochs = 2;
  o.base.batch = 16;
  o.base.threads = 1;
  o.activations = {"tanh", "relu", "gelu"};
  o.seeds = 2;
  o.probe_size = 32;
  return o;
}

// Every number of two runs but the timings, bit for bit.
void require_same_numbers(const lab::RunRecord& a, const lab::RunRecord& b) {
  INFO(a.activation << " seed " << a.seed);
  CHECK(a.activation == b.activation);
  CHECK(a.seed == b.seed);
  CHECK(a.error == b.error);
  CHECK(a.failed == b.failed);
  // The run-file JSON holds every number exactly; blank the timings and compare the texts.
  auto numbers = [](lab::RunRecord r) {
    r.total_seconds = 0;
    for (auto& m : r.history) m.seconds = 0;
    return lab::run_record_json(r, "");
  };
  CHECK(numbers(a) == numbers(b));
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// summary.json without what depends on the clock or the command line.
nlohmann::json without_timings(nlohmann::json j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [key, value] : j.items())
      if (key != "seconds" && key != "total_seconds" && key != "seconds_per_epoch" && key != "command")
        out[key] = without_timings(value);
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& value : j) out.push_back(without_timings(value));
    return out;
  }
  return j;
}

// curves.csv without its "seconds" column.
std::vector<std::string> csv_without_seconds(const std::filesystem::path& file) {
  std::istringstream text(read_text(file));
  std::vector<std::string> rows;
  std::string line;
  std::size_t column = std::string::npos;
  while (std::getline(text, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    if (column == std::string::npos)
      column = std::find(cells.begin(), cells.end(), "seconds") - cells.begin();
    REQUIRE(column < cells.size());
    cells.erase(cells.begin() + static_cast<std::ptrdiff_t>(column));
    std::string row;
    for (const std::string& c : cells) row += c + ",";
    rows.push_back(row);
  }
  return rows;
}

[[maybe_unused]] void require_same_reports(const std::filesystem::path& a, const std::filesystem::path& b) {
  INFO(a.string() << " vs " << b.string());
  REQUIRE(std::filesystem::exists(a / "summary.json"));
  REQUIRE(std::filesystem::exists(b / "summary.json"));
  CHECK(without_timings(nlohmann::json::parse(read_text(a / "summary.json"))) ==
        without_timings(nlohmann::json::parse(read_text(b / "summary.json"))));
  const auto rows_a = csv_without_seconds(a / "curves.csv");
  CHECK(rows_a.size() > 1);
  CHECK(rows_a == csv_without_seconds(b / "curves.csv"));
}

}  // namespace

TEST_CASE("compare sweep: a run file holds every number exactly, NaN and infinities included",
          "[compare][sweep]") {
  lab::RunRecord r;
  r.activation = "leaky_relu";
  r.seed = 7;
  r.error = "the loss became nan";
  r.total_seconds = 0.125;
  train::EpochMetrics m;
  m.epoch = 1;
  m.train_loss = 0.1 + 0.2;  // not a short decimal
  m.train_accuracy = 1.0 / 3.0;
  m.test_loss = std::numeric_limits<double>::infinity();
  m.test_accuracy = 0.5;
  m.lr = 1e-3;
  m.steps = 12;
  r.history = {m};
  train::Diagnostics d;
  d.probe_loss = std::numeric_limits<double>::quiet_NaN();
  d.grad_norm_ratio = -std::numeric_limits<double>::infinity();
  train::LayerDiagnostics layer;
  layer.activation = "leaky_relu";
  layer.units = 6;
  layer.weight_grad_norm = 1e-300;
  layer.dead_fraction = 2.0 / 7.0;
  d.layers = {layer};
  r.diagnostics = {d};
  r.initial = d;

  const std::string text = lab::run_record_json(r, "{\"k\":1}");
  std::string fingerprint;
  const lab::RunRecord back = lab::parse_run_record(text, "test", &fingerprint);
  CHECK(fingerprint == "{\"k\":1}");
  CHECK(back.history[0].train_loss == m.train_loss);
  CHECK(back.history[0].train_accuracy == m.train_accuracy);
  CHECK(std::isinf(back.history[0].test_loss));
  CHECK(std::isnan(back.diagnostics[0].probe_loss));
  CHECK(back.diagnostics[0].grad_norm_ratio == -std::numeric_limits<double>::infinity());
  CHECK(back.diagnostics[0].layers[0].weight_grad_norm == 1e-300);
  CHECK(back.diagnostics[0].layers[0].dead_fraction == 2.0 / 7.0);
  CHECK(lab::run_record_json(back, "{\"k\":1}") == text);

  CHECK_THROWS_AS(lab::parse_run_record("{\"format\": \"other\"}", "x.json"), IoError);
  CHECK_THROWS_WITH(lab::parse_run_record("not json", "x.json"), Catch::Contains("x.json"));
}

TEST_CASE("compare sweep: --jobs 2 gives the numbers of the same runs one by one", "[compare][sweep]") {
  const TensorDataset train = synthetic(192, 1), test = synthetic(64, 2);
  lab::CompareOptions one = small_sweep();
  const lab::CompareResult serial = lab::run_compare(one, train, test);
  lab::CompareOptions two = small_sweep();
  two.jobs = 2;
  const lab::CompareResult parallel = lab::run_compare(two, train, test);
  REQUIRE(serial.runs.size() == 6);
  REQUIRE(parallel.runs.size() == 6);
  for (std::size_t i = 0; i < serial.runs.size(); ++i) {
    CHECK(serial.runs[i].error.empty());
    CHECK(serial.runs[i].history.size() == 2);
    require_same_numbers(serial.runs[i], parallel.runs[i]);
  }
  CHECK(serial.ranking == parallel.ranking);
}

TEST_CASE("compare sweep: run files let --resume run only the missing runs", "[compare][sweep]") {
  const TensorDataset train = synthetic(128, 3), test = synthetic(64, 4);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_compare_sweep_resume";
  std::filesystem::remove_all(dir);
  lab::CompareOptions o = small_sweep();
  o.run_dir = dir;
  const lab::CompareResult full = lab::run_compare(o, train, test);
  for (const lab::RunRecord& r : full.runs)
    CHECK(std::filesystem::exists(lab::run_file_path(dir, r.activation, r.seed)));

  std::filesystem::remove(lab::run_file_path(dir, "relu", 1));
  std::filesystem::remove(lab::run_file_path(dir, "tanh", 0));
  struct Started : lab::CompareObserver {
    std::vector<std::size_t> runs;
    void on_run_start(std::size_t run, std::size_t, const std::string&, std::uint64_t) override {
      runs.push_back(run);
    }
  } started;
  o.resume = true;
  const lab::CompareResult resumed = lab::run_compare(o, train, test, &started);
  CHECK(resumed.resumed_runs == 4);
  CHECK(started.runs == std::vector<std::size_t>{0, 3});  // tanh seed 0, relu seed 1
  REQUIRE(resumed.runs.size() == full.runs.size());
  for (std::size_t i = 0; i < full.runs.size(); ++i) require_same_numbers(full.runs[i], resumed.runs[i]);

  // Other settings: refused, naming what differs.
  o.base.epochs = 3;
  CHECK_THROWS_WITH(lab::run_compare(o, train, test), Catch::Contains("epochs 2 there, 3 now"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("compare sweep: a run that throws is recorded as failed and the others finish",
          "[compare][sweep]") {
  // A model that does not take the data's inputs fails in every run; no run may take the sweep down.
  const TensorDataset train = synthetic(64, 5), test = synthetic(32, 6);
  lab::CompareOptions o = small_sweep();
  o.arch = "5-4-2";
  o.jobs = 2;
  const lab::CompareResult result = lab::run_compare(o, train, test);
  REQUIRE(result.runs.size() == 6);
  for (const lab::RunRecord& r : result.runs) {
    CHECK(r.failed);
    CHECK_THAT(r.error, Catch::StartsWith("failed: ") && Catch::Contains("inputs"));
  }
  REQUIRE(result.summary.size() == 3);
  CHECK(result.summary[0].missing_runs == 2);
  CHECK_THAT(lab::summary_table_markdown(result), Catch::Contains("no result"));
}

#if defined(BEND_CLI_PATH)
namespace {

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
const std::string kCli = BEND_CLI_PATH;
// A tiny sweep: 2 activations x 2 seeds on 256 MNIST images, 2 epochs.
const std::string kSweep = " compare --data-dir " + kMnist.string() +
                           " --acts relu,tanh --seeds 2 --epochs 2 --train-limit 256 --test-limit 128 "
                           "--arch 784-16-10 --probe 64";
// tanh learns; leaky_relu's loss becomes NaN at this learning rate.
const std::string kDivergingSweep = " compare --data-dir " + kMnist.string() +
                                    " --acts tanh,leaky_relu --epochs 2 --train-limit 256 --test-limit 128 "
                                    "--arch 784-16-10 --probe 64 --opt sgd --lr 1000 --schedule none";
const std::string kMpirun = "timeout 300 mpirun --oversubscribe --allow-run-as-root -np 2 ";

bool have_mnist() {
  return testing::require_available(std::filesystem::exists(kMnist / "train-labels-idx1-ubyte"),
                                    "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh");
}

bool have_mpirun() {
  return testing::require_available(std::system("command -v mpirun >/dev/null 2>&1") == 0, "mpirun",
                                    "install openmpi-bin (scripts/install-deps.sh)");
}

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("bend_test_compare_sweep_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("compare sweep: bend compare --jobs 2 writes the report of --jobs 1", "[compare][sweep][cli]") {
  if (!have_mnist()) return;
  const auto one = scratch("jobs1"), two = scratch("jobs2");
  const auto a = testing::run_command(kCli + kSweep + " --jobs 1 --threads 1 --out " + one.string());
  INFO(a.out);
  REQUIRE(a.code == 0);
  const auto b = testing::run_command(kCli + kSweep + " --jobs 2 --threads 2 --out " + two.string());
  INFO(b.out);
  REQUIRE(b.code == 0);
  CHECK_THAT(b.out, Catch::Contains("2 run(s) at a time, 1 thread(s) each"));
  require_same_reports(one, two);
}

#ifdef BEND_MPI_WORLD_CHECK_PATH  // built with MPI
TEST_CASE("compare sweep: mpirun -np 2 bend compare writes the single-process report",
          "[compare][sweep][mpi]") {
  if (!have_mnist() || !have_mpirun()) return;
  const auto single = scratch("single"), spread = scratch("mpi");
  const auto a = testing::run_command(kCli + kSweep + " --threads 1 --out " + single.string());
  INFO(a.out);
  REQUIRE(a.code == 0);
  const auto b = testing::run_command(kMpirun + kCli + kSweep + " --threads 1 --out " + spread.string());
  INFO(b.out);
  REQUIRE(b.code == 0);
  CHECK_THAT(b.out, Catch::Contains("on each of 2 MPI ranks"));
  CHECK_THAT(b.out, Catch::Contains("rank 1 [2/4] relu seed 1"));  // run 2 of 4 went to rank 1
  require_same_reports(single, spread);

  SECTION("--resume runs only the runs whose file is missing") {
    std::filesystem::remove(spread / "runs" / "relu-seed0.json");
    std::filesystem::remove(spread / "runs" / "tanh-seed1.json");
    std::filesystem::remove(spread / "summary.json");
    std::filesystem::remove(spread / "curves.csv");
    const auto c =
        testing::run_command(kMpirun + kCli + kSweep + " --threads 1 --resume --out " + spread.string());
    INFO(c.out);
    REQUIRE(c.code == 0);
    CHECK_THAT(c.out, Catch::Contains("resumed: 2 of 4 run(s)"));
    CHECK(c.out.find("relu seed 1 epoch") == std::string::npos);  // loaded, not run
    CHECK_THAT(c.out, Catch::Contains("relu seed 0 epoch 2"));
    require_same_reports(single, spread);
  }
}

TEST_CASE("compare sweep: under mpirun a diverging run on one rank is marked and nothing hangs",
          "[compare][sweep][mpi]") {
  if (!have_mnist() || !have_mpirun()) return;
  const auto single = scratch("diverge1"), spread = scratch("diverge2");
  const auto a = testing::run_command(kCli + kDivergingSweep + " --threads 1 --out " + single.string());
  INFO(a.out);
  REQUIRE(a.code == 0);
  const auto b =
      testing::run_command(kMpirun + kCli + kDivergingSweep + " --threads 1 --out " + spread.string());
  INFO(b.out);
  REQUIRE(b.code == 0);  // a diverged run is a result
  CHECK_THAT(b.out, Catch::Contains("rank 1 [2/2] leaky_relu seed 0 failed"));
  CHECK_THAT(read_text(spread / "report.md"), Catch::Contains("leaky_relu | diverged"));
  require_same_reports(single, spread);
}

TEST_CASE("compare sweep: under mpirun runs that fail are reported with their rank and the job ends",
          "[compare][sweep][mpi]") {
  if (!have_mnist() || !have_mpirun()) return;
  // One training image: batch norm cannot train on a batch of one row (as PyTorch refuses), so every
  // run's Trainer refuses it, after the sweep has started. (A last batch of one row among others is
  // dropped instead, as with PyTorch's drop_last.)
  const auto dir = scratch("fail");
  const auto r = testing::run_command(kMpirun + kCli + " compare --data-dir " + kMnist.string() +
                                      " --acts tanh,relu,gelu --epochs 1 --train-limit 1 --test-limit 64 "
                                      "--arch 784-8-10 --norm batch --batch 64 --threads 1 --out " +
                                      dir.string());
  INFO(r.out);
  CHECK(r.code == 1);  // not 124 (timeout): nothing hung
  CHECK_THAT(r.out, Catch::Contains("relu seed 0 has no result: failed on rank 1"));
  CHECK_THAT(r.out, Catch::Contains("3 of 3 run(s) failed"));
  const std::string report = read_text(dir / "report.md");
  CHECK_THAT(report, Catch::Contains("gelu | no result"));
  CHECK_THAT(report, Catch::Contains("Runs without a result"));
  CHECK_FALSE(std::filesystem::exists(dir / "runs" / "relu-seed0.json"));  // a --resume runs it again
}
#endif  // BEND_MPI_WORLD_CHECK_PATH
#endif  // BEND_CLI_PATH

}  // namespace BEND_UNITY_ID
