// Data-parallel training through the CLI: `mpirun -np 2 bend train` against one process on a tiny MLP
// and an MNIST subset: the same loss curve after 100 steps, resume under MPI, a NaN stops every rank,
// and the test set evaluated in shards gives one process's numbers. Gradient buckets in this process.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bend/autograd.hpp"
#include "bend/dist/gradient_buckets.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/error.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

extern char** environ;

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

TEST_CASE("gradient buckets: in a world of one, weight x the gradient backward computed", "[ddp]") {
  Rng rng(7);
  Tensor x = Tensor::uniform({6, 5}, -1, 1, rng);
  std::vector<Tensor> params = {
      Tensor::uniform({4, 5}, -1, 1, rng).requires_grad_(), Tensor::uniform({4}, -1, 1, rng).requires_grad_(),
      Tensor::uniform({3, 4}, -1, 1, rng).requires_grad_(), Tensor::uniform({3}, -1, 1, rng).requires_grad_(),
      Tensor::uniform({3}, -1, 1, rng).requires_grad_()};  // never used
  const auto loss = [&] {
    return tanh(linear(tanh(linear(x, params[0], params[1])), params[2], params[3])).sum();
  };
  loss().backward();
  std::vector<std::vector<float>> expected;
  for (int k = 0; k < 4; ++k) expected.push_back(params[static_cast<std::size_t>(k)].grad().to_vector());
  // 40 bytes (10 floats) per bucket, filled in reverse order: [unused, b2] (3 + 3), then w2 (12 floats,
  // alone: more than a bucket), b1 (4: w1 does not fit with it), w1.
  dist::GradientBuckets buckets(dist::world(), params, 40);
  CHECK(buckets.numel() == 20 + 4 + 12 + 3 + 3);
  CHECK(buckets.bucket_sizes() == std::vector<std::size_t>{2, 1, 1, 1});
  for (int step = 0; step < 2; ++step) {
    for (Tensor& p : params) p.zero_grad();
    buckets.begin(0.5f);
    {
      GradReadyHookScope hook(buckets.hook());
      loss().backward();
    }
    buckets.finish();
    for (std::size_t k = 0; k < 4; ++k) {
      const auto got = params[k].grad().to_vector();
      REQUIRE(got.size() == expected[k].size());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(0.5f * expected[k][i]));
    }
    // A parameter backward never reached gets a zero gradient (it was not part of this rank's loss).
    CHECK(params[4].grad().to_vector() == std::vector<float>{0, 0, 0});
  }
  const std::vector<Tensor> twice = {params[0], params[0]};
  CHECK_THROWS_AS(dist::GradientBuckets(dist::world(), twice), ValueError);
}

#if defined(BEND_CLI_PATH)
namespace {

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";

// MNIST, mpirun and a bend built with MPI; false (a skip, or a failure under CI=true) otherwise.
bool ddp_available() {
  if (!testing::require_available(std::filesystem::exists(kMnist / "train-labels-idx1-ubyte"),
                                  "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh"))
    return false;
  if (!testing::require_available(std::system("command -v mpirun >/dev/null 2>&1") == 0, "mpirun",
                                  "install openmpi-bin (scripts/install-deps.sh)"))
    return false;
  return testing::require_available(dist::built_with_mpi(), "bend built with MPI",
                                    "install libopenmpi-dev and configure with -DBEND_MPI=ON");
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(BEND_BINARY_DIR) / "test_ddp" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A tiny run: 784-32-10 on 640 training images, batch 64 (10 steps per epoch), 1 thread per process.
std::string train_args(const std::filesystem::path& dir, const std::string& extra) {
  return std::string(BEND_CLI_PATH) + " train --data-dir " + kMnist.string() +
         " --arch 784-32-10 --train-limit 640 --test-limit 1001 --batch 64 --threads 1 --checkpoint-dir " +
         dir.string() + " " + extra;
}

testing::CommandResult run_single(const std::filesystem::path& dir, const std::string& extra) {
  return testing::run_command(train_args(dir, extra));
}
// Two ranks; `timeout` turns a hang (a rank waiting forever in a collective) into a failure.
testing::CommandResult run_two(const std::filesystem::path& dir, const std::string& extra) {
  return testing::run_command("timeout 300 mpirun --oversubscribe --allow-run-as-root -np 2 " +
                              train_args(dir, extra));
}

// The per-epoch JSON objects of a --json run.
std::vector<nlohmann::json> epochs_of(const std::string& out) {
  std::vector<nlohmann::json> epochs;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("{\"epoch\"", 0) == 0) epochs.push_back(nlohmann::json::parse(line));
  return epochs;
}

void require_same_curve(const std::vector<nlohmann::json>& one, const std::vector<nlohmann::json>& two,
                        double tolerance) {
  REQUIRE(one.size() == two.size());
  REQUIRE(!one.empty());
  for (std::size_t e = 0; e < one.size(); ++e) {
    INFO("epoch " << one[e]["epoch"]);
    CHECK(two[e]["epoch"] == one[e]["epoch"]);
    CHECK(two[e]["steps"] == one[e]["steps"]);
    for (const char* key : {"train_loss", "test_loss"})
      CHECK(two[e][key].get<double>() == Approx(one[e][key].get<double>()).epsilon(tolerance));
    for (const char* key : {"train_accuracy", "test_accuracy"})
      CHECK(two[e][key].get<double>() == Approx(one[e][key].get<double>()).margin(2.0 / 1000));
  }
}

}  // namespace

TEST_CASE("ddp: mpirun -np 2 follows one process's loss curve over 100 steps", "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto single = run_single(fresh_dir("curve1"), "--epochs 10 --json");
  INFO(single.out);
  REQUIRE(single.code == 0);
  const auto two = run_two(fresh_dir("curve2"), "--epochs 10 --json");
  INFO(two.out);
  REQUIRE(two.code == 0);
  const auto a = epochs_of(single.out), b = epochs_of(two.out);
  REQUIRE(a.size() == 10);
  CHECK(a.back()["steps"] == 100);
  // Only rank 0 prints: one summary line, ten epoch lines.
  CHECK(std::count(two.out.begin(), two.out.end(), '\n') == 11);
  // Each rank's half batch is summed in another order than one process's full batch: float rounding,
  // carried through 100 Adam steps, stays far below this.
  require_same_curve(a, b, 1e-4);
  // And the model learnt something (the comparison is not between two flat lines).
  CHECK(b.back()["train_loss"].get<double>() < 0.8 * b.front()["train_loss"].get<double>());
}

TEST_CASE("ddp: the test set evaluated in shards gives one process's loss and accuracy", "[ddp][mpi]") {
  if (!ddp_available()) return;
  // Learning rate 0: both evaluate the same initial weights, on 1001 test images (uneven shards).
  const std::string args = "--epochs 1 --steps 1 --opt sgd --lr 0 --json";
  const auto single = run_single(fresh_dir("eval1"), args);
  const auto two = run_two(fresh_dir("eval2"), args);
  INFO(single.out << two.out);
  REQUIRE(single.code == 0);
  REQUIRE(two.code == 0);
  const auto a = epochs_of(single.out), b = epochs_of(two.out);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(b[0]["test_accuracy"].get<double>() == a[0]["test_accuracy"].get<double>());
  CHECK(b[0]["test_loss"].get<double>() == Approx(a[0]["test_loss"].get<double>()).epsilon(1e-6));
  CHECK(b[0]["train_loss"].get<double>() == Approx(a[0]["train_loss"].get<double>()).epsilon(1e-6));
  CHECK(b[0]["train_accuracy"].get<double>() == a[0]["train_accuracy"].get<double>());
}

TEST_CASE("ddp: a run stopped by --steps resumes under mpirun and ends where an unbroken run ends",
          "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto whole = run_single(fresh_dir("whole"), "--epochs 3 --json");
  INFO(whole.out);
  REQUIRE(whole.code == 0);
  const auto dir = fresh_dir("resume");
  const auto first = run_two(dir, "--epochs 3 --steps 15");  // stops inside epoch 2
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK(first.out.find("data-parallel over 2 ranks") != std::string::npos);
  // One rank wrote one checkpoint, and nothing half-written is left behind.
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))  // (the run's lock file aside)
    if (entry.path().filename() != ".bend.lock") files.push_back(entry.path().filename().string());
  CHECK(files == std::vector<std::string>{"checkpoint.safetensors"});
  const auto second = run_two(dir, "--epochs 3 --json --resume " + (dir / "checkpoint.safetensors").string());
  INFO(second.out);
  REQUIRE(second.code == 0);
  const auto a = epochs_of(whole.out), b = epochs_of(second.out);
  REQUIRE(b.size() == 2);  // epoch 2 (finished after the resume) and epoch 3
  require_same_curve({a[1], a[2]}, b, 1e-4);
}

TEST_CASE("ddp: a NaN loss stops every rank, and nothing is written over the last checkpoint", "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto dir = fresh_dir("nan");
  // A good run first, checkpointed; then a new run into the same directory whose learning rate blows up
  // within its first epoch, on both ranks (they hold the same weights).
  REQUIRE(run_two(dir, "--epochs 1 --opt sgd --lr 0.1").code == 0);
  const auto checkpoint = dir / "checkpoint.safetensors";
  REQUIRE(std::filesystem::exists(checkpoint));
  const auto written = std::filesystem::last_write_time(checkpoint);
  const auto size = std::filesystem::file_size(checkpoint);
  const auto r = run_two(dir, "--epochs 3 --opt sgd --lr 1e10");
  INFO(r.out);
  CHECK(r.code == 1);  // (timeout would give 124: a rank left waiting)
  CHECK(r.out.find("the loss became") != std::string::npos);
  CHECK(r.out.find("of 2 data-parallel ranks") != std::string::npos);
  CHECK(std::filesystem::last_write_time(checkpoint) == written);
  CHECK(std::filesystem::file_size(checkpoint) == size);
}

// Ctrl-C under mpirun: mpirun forwards SIGUSR1 to every rank (a Ctrl-C makes it end the job with
// SIGTERM, which the ranks also take as a stop request); the ranks agree on stopping within a step, rank 0
// writes one checkpoint, and mpirun -np 2 --resume continues from it.
TEST_CASE("ddp: SIGUSR1 to mpirun stops both ranks with one checkpoint that --resume continues",
          "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto dir = fresh_dir("stop");
  const std::filesystem::path log = dir / "train.log", checkpoint = dir / "checkpoint.safetensors";
  // Enough epochs that the run cannot end by itself before the signal.
  std::vector<std::string> args = {"mpirun",
                                   "--oversubscribe",
                                   "--allow-run-as-root",
                                   "-np",
                                   "2",
                                   BEND_CLI_PATH,
                                   "train",
                                   "--data-dir",
                                   kMnist.string(),
                                   "--arch",
                                   "784-32-10",
                                   "--epochs",  // far more than the signal leaves it (an epoch is ~0.1 s)
                                   "100",
                                   "--threads",
                                   "1",
                                   "--train-limit",
                                   "6400",
                                   "--test-limit",
                                   "500",
                                   "--checkpoint-dir",
                                   dir.string()};
  // Stop the second epoch.
  const auto [status, out] = bend::testing::interrupt_in_second_epoch(args, log, SIGUSR1);
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  // Rank 0 alone reports it, once.
  const auto first = out.find("interrupted after step");
  REQUIRE(first != std::string::npos);
  CHECK(out.find("interrupted after step", first + 1) == std::string::npos);
  REQUIRE(std::filesystem::exists(checkpoint));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))  // (the run's lock file aside)
    if (entry.path().filename() != ".bend.lock") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"checkpoint.safetensors", "train.log"});

  const auto resumed =
      testing::run_command("timeout 300 mpirun --oversubscribe --allow-run-as-root -np 2 " +
                           std::string(BEND_CLI_PATH) + " train --data-dir " + kMnist.string() +
                           " --arch 784-32-10 --threads 1 --train-limit 6400 --test-limit 500 "
                           "--json --checkpoint-dir " +
                           dir.string() + " --resume " + checkpoint.string());
  // Without --epochs the resumed run follows the checkpoint's plan to its 100th epoch, however many
  // epochs the first run got through before the signal reached it.
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK(resumed.out.find("\"epoch\":100") != std::string::npos);
  CHECK(resumed.out.find("summary") != std::string::npos);
}
// An error on one rank reaches every rank (issue 29): each case ends well within 30 s (a hang would be
// timeout's 124) with exit 1 and bend's one line, from rank 0, naming the failing rank and the cause.
namespace {

testing::CommandResult run_two_briefly(const std::string& args, const std::string& prefix = "") {
  return testing::run_command(prefix + "timeout 30 mpirun --oversubscribe --allow-run-as-root -np 2 " + args);
}

void require_one_line_naming(const testing::CommandResult& r, const std::string& rank,
                             const std::string& cause) {
  INFO(r.out);
  CHECK(r.code == 1);
  std::vector<std::string> bend_lines;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("bend train:", 0) == 0) bend_lines.push_back(line);
  REQUIRE(bend_lines.size() == 1);
  CHECK_THAT(bend_lines[0], Catch::Contains(rank) && Catch::Contains(cause));
}

}  // namespace

TEST_CASE("ddp: BatchNorm with a one-row shard is refused on every rank at once", "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto dir = fresh_dir("bn_rows");
  const auto r = run_two_briefly(train_args(dir, "--norm batch --batch 3 --train-limit 300 --epochs 1"));
  require_one_line_naming(r, "rank 0 of 2", "--batch 4");
  // A last batch of 3 (one row on rank 0) is dropped and said once; the run trains.
  const auto dropped =
      run_two_briefly(train_args(dir, "--norm batch --batch 4 --train-limit 303 --epochs 1"));
  INFO(dropped.out);
  CHECK(dropped.code == 0);
  CHECK_THAT(dropped.out, Catch::Contains("last batch of each epoch (3 of 303 samples) is left out"));
}

TEST_CASE("ddp: a checkpoint directory rank 0 cannot make ends every rank with one line", "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto dir = fresh_dir("no_dir");
  std::ofstream(dir / "a-file") << "not a directory";
  const auto r = run_two_briefly(train_args(dir / "a-file" / "checkpoints", "--epochs 1"));
  require_one_line_naming(r, "rank 0 of 2", (dir / "a-file").string());
}

TEST_CASE("ddp: a rank that cannot load its data ends every rank with one line naming it", "[ddp][mpi]") {
  if (!ddp_available()) return;
  const auto dir = fresh_dir("rank_data");
  // Rank 1 alone is given a data directory that does not exist.
  const std::string data = "$([ $OMPI_COMM_WORLD_RANK = 1 ] && echo " + (dir / "nowhere").string() +
                           " || echo " + kMnist.string() + ")";
  const auto r =
      run_two_briefly("bash -c '" + std::string(BEND_CLI_PATH) + " train --data-dir " + data +
                      " --arch 784-32-10 --train-limit 640 --test-limit 100 --batch 64 --threads 1 "
                      "--epochs 1 --checkpoint-dir " +
                      dir.string() + "'");
  require_one_line_naming(r, "rank 1 of 2", "nowhere");
}

TEST_CASE("ddp: a full disk under rank 0's checkpoint ends every rank with one line", "[ddp][mpi]") {
  if (!ddp_available()) return;
  testing::ScratchDir scratch("bend_ddp_full");
  // A 128 KiB tmpfs where this machine lets us mount one (ENOSPC); else each rank runs under a 128 KiB
  // file-size limit (EFBIG), with MPI's shared-memory transport off (its segments are files too).
  const auto small = scratch.path() / "small";
  std::filesystem::create_directories(small);
  const bool mounted = ::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=128k") == 0;
  // 784-32-10 with Adam: a 0.3 MB checkpoint, written after epoch 1.
  testing::CommandResult r;
  if (mounted) {
    r = run_two_briefly(train_args(small / "checkpoints", "--epochs 3"));
    ::umount(small.c_str());
  } else {
    r = run_two_briefly("--mca btl self,tcp bash -c 'trap \"\" XFSZ; ulimit -f 128; exec " +
                        train_args(small / "checkpoints", "--epochs 3") + "'");
  }
  INFO((mounted ? "(tmpfs)" : "(file-size limit)"));
  require_one_line_naming(r, "rank 0 of 2", "checkpoint.safetensors");
  CHECK_THAT(r.out, Catch::Contains("No space left") || Catch::Contains("File too large"));
}
#endif

}  // namespace BEND_UNITY_ID
