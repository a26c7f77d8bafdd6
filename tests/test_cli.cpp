// The CLI through its binary: help, exit codes (2 usage, 1 runtime), one-line errors, and a real
// train -> eval -> predict -> info round on a tiny MNIST subset when the data are present.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "bend/data/registry.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/rng.hpp"
#include "idx_files.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

extern char** environ;

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {

using Run = bend::testing::CommandResult;
Run run(const std::string& args) {
  return bend::testing::run_command(std::string(BEND_CLI_PATH) + " " + args);
}

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";

// An empty scratch directory for a test that needs MNIST; false when MNIST is absent (a skip, or a
// failure under CI=true).
bool fresh_mnist_test_dir(const std::filesystem::path& dir) {
  if (!bend::testing::require_available(std::filesystem::exists(kMnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh"))
    return false;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return true;
}

}  // namespace

// The command names `bend help` lists (the CLI's command registry, read through the binary).
std::vector<std::string> listed_commands() {
  const Run help = run("help");
  REQUIRE(help.code == 0);
  std::istringstream lines(help.out);
  std::string line;
  while (std::getline(lines, line) && line != "Commands:") {
  }
  std::vector<std::string> names;
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    names.push_back(name);
  }
  return names;
}

TEST_CASE("every subcommand has --help, and bend help <command> prints it", "[cli]") {
  const std::vector<std::string> commands = listed_commands();
  for (const char* known : {"train", "eval", "predict", "info", "compare", "lab", "plot", "help"})
    CHECK(std::find(commands.begin(), commands.end(), known) != commands.end());
  for (const std::string& cmd : commands) {
    INFO(cmd);
    const Run r = run(cmd + " --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") || Catch::Contains("usage"));
    const Run via_help = run("help " + cmd);
    CHECK(via_help.code == 0);
    CHECK(via_help.out == r.out);
  }
  CHECK(run("--help").code == 0);
  CHECK(run("--help").out == run("help").out);
  const Run nothing = run("");
  CHECK(nothing.code == 2);
  CHECK(nothing.out == run("help").out);
}

TEST_CASE("bend --version prints CMake's project version", "[cli]") {
  const Run r = run("--version");
  CHECK(r.code == 0);
  CHECK(r.out == std::string("bend ") + BEND_VERSION + "\n");
  CHECK(std::string(BEND_VERSION).find('.') != std::string::npos);
}

TEST_CASE("unknown commands and help topics list the commands", "[cli]") {
  for (const char* args : {"frobnicate", "help frobnicate"}) {
    INFO(args);
    const Run r = run(args);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Contains("frobnicate") && Catch::Contains("train, eval, predict"));
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  }
  CHECK(run("help train eval").code == 2);
}

TEST_CASE("bend help datasets shows the dataset registry", "[cli]") {
  const Run r = run("help datasets");
  CHECK(r.code == 0);
  for (const bend::DatasetEntry& e : bend::dataset_registry()) {
    INFO(e.name);
    CHECK_THAT(r.out, Catch::Contains("  " + e.name + " ") &&
                          Catch::Contains(e.is_text() ? std::string("text (char or word)")
                                                      : std::to_string(e.num_classes) + " classes") &&
                          Catch::Contains(e.summary));
  }
  CHECK_THAT(run("help").out, Catch::Contains(bend::dataset_names()));
  const Run train_help = run("train --help");
  for (const bend::DatasetEntry& e : bend::dataset_registry())
    CHECK_THAT(train_help.out, Catch::Contains(e.name));
}

TEST_CASE("usage errors exit 2 with one clear line", "[cli]") {
  const Run unknown = run("frobnicate");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.out, Catch::Contains("unknown command"));
  const Run bad_act = run("train --act bogus");
  CHECK(bad_act.code == 2);
  CHECK_THAT(bad_act.out, Catch::Contains("bogus"));
  CHECK(std::count(bad_act.out.begin(), bad_act.out.end(), '\n') == 1);
  CHECK(run("train --arch 784-x-10").code == 2);
  for (const char* bad_number : {"train --batch abc", "train --batch=1e10", "train --epochs 1 --lr x"}) {
    const Run r = run(bad_number);
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    // The flag is named, not just the value.
    CHECK_THAT(r.out, Catch::Contains("--batch '") || Catch::Contains("--lr 'x'"));
  }
  CHECK(run("train --opt lbfgs").code == 2);
  CHECK(run("train --no-such-flag").code == 2);
  CHECK(run("train --metrics out.txt").code == 2);
  CHECK(run("eval").code == 2);
  const Run bad_dataset =
      run("eval --model " + std::string(BEND_SOURCE_DIR) + "/CMakeLists.txt --dataset cifar");
  CHECK(bad_dataset.code == 2);
  CHECK_THAT(bad_dataset.out, Catch::Contains("cifar") && Catch::Contains(bend::dataset_names()));
  CHECK(run("eval --model /nonexistent.safetensors").code == 2);
  CHECK(run("predict --model x").code == 2);
}

TEST_CASE("runtime errors exit 1 with one clear line", "[cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_cli";
  std::filesystem::create_directories(dir);
  const auto corrupt = dir / "corrupt.safetensors";
  std::ofstream(corrupt) << "this is not a safetensors file at all";
  const Run r = run("eval --model " + corrupt.string());
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains(corrupt.string()));
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  const Run missing_data = run("train --data-dir " + (dir / "nothing").string() + " --checkpoint-dir ''");
  CHECK(missing_data.code == 1);
  CHECK_THAT(missing_data.out, Catch::Contains("fetch-mnist"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("train, eval, predict and info on a small MNIST subset", "[cli][mnist]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_cli_mnist";
  if (!fresh_mnist_test_dir(dir)) return;
  const std::string data = " --data-dir " + kMnist.string();
  const std::string model = (dir / "m.safetensors").string();
  // A constant learning rate (PyTorch's plain loop), so that the resume below may add epochs.
  const Run t =
      run("train" + data + " --epochs 1 --schedule none --train-limit 3000 --test-limit 500 --quiet --save " +
          model + " --checkpoint-dir " + dir.string() + " --metrics " + (dir / "m.csv").string());
  INFO(t.out);
  REQUIRE(t.code == 0);
  CHECK_THAT(t.out, Catch::Contains("best test accuracy"));
  CHECK(std::filesystem::exists(dir / "checkpoint.safetensors"));
  std::ifstream csv(dir / "m.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr,steps");

  const Run e = run("eval --model " + model + data + " --predictions " + (dir / "p.csv").string());
  INFO(e.out);
  CHECK(e.code == 0);
  CHECK_THAT(e.out, Catch::Contains("confusion matrix"));
  std::ifstream preds(dir / "p.csv");
  std::getline(preds, header);
  CHECK(header == "index,label,predicted,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9");

  const Run p = run("predict --model " + model + data + " --index 0");
  CHECK(p.code == 0);
  CHECK_THAT(p.out, Catch::Contains("label: 7"));
  const Run i = run("info " + (dir / "checkpoint.safetensors").string());
  CHECK(i.code == 0);
  CHECK_THAT(i.out, Catch::Contains("bend checkpoint") && Catch::Contains("784-256-128-10"));
  // Resuming a finished run with more epochs trains the rest; the schedule (none) comes from the
  // checkpoint, not from the default recipe (cosine).
  const Run resume = run("train" + data + " --epochs 2 --train-limit 3000 --test-limit 500 --json --resume " +
                         (dir / "checkpoint.safetensors").string() + " --checkpoint-dir " + dir.string());
  INFO(resume.out);
  CHECK(resume.code == 0);
  CHECK_THAT(resume.out, Catch::Contains("\"epoch\":2"));
  CHECK_THAT(resume.out, !Catch::Contains("\"epoch\":1"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("bend plot --help prints the full help of its charts", "[cli]") {
  const Run r = run("plot --help");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("activations") && Catch::Contains("--acts") &&
                        Catch::Contains("--range") && Catch::Contains("--out"));
  CHECK(run("plot activations --help").code == 0);
}

// Two compares of other settings without --out write two directories named after their flags (the README's
// lenet5 compare and the six-activation compare used to share compare-out); the same flags find the same
// directory again, whatever --jobs and --threads. More threads than cores is said in one line.
TEST_CASE("compare: the default --out is named after the flags, and oversubscription is warned about",
          "[cli][mnist][compare]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_cli_compare_out";
  if (!fresh_mnist_test_dir(dir)) return;
  const std::string in_dir = "cd " + dir.string() + " && taskset -c 0 " + BEND_CLI_PATH +
                             " compare --data-dir " + kMnist.string() +
                             " --train-limit 128 --test-limit 100 --epochs 1";
  const Run a = bend::testing::run_command(in_dir + " --acts relu,gelu --jobs 2 --threads 2");
  INFO(a.out);
  REQUIRE(a.code == 0);
  // taskset gives the process one core: 2 runs x 1 thread each is 2 threads.
  CHECK_THAT(a.out,
             Catch::Contains("bend compare: warning: 2 runs at a time x 1 threads = 2 threads on 1 core"));
  const auto a_dir = dir / "compare-acts-relu,gelu_epochs-1_test-limit-100_train-limit-128";
  CHECK(std::filesystem::exists(a_dir / "index.html"));
  CHECK_THAT(a.out, Catch::Contains("report in " + a_dir.filename().string()));

  const Run b = bend::testing::run_command(in_dir + " --acts tanh --threads 1");
  INFO(b.out);
  REQUIRE(b.code == 0);
  CHECK_THAT(b.out, !Catch::Contains("warning"));
  const auto b_dir = dir / "compare-acts-tanh_epochs-1_test-limit-100_train-limit-128";
  CHECK(std::filesystem::exists(b_dir / "index.html"));
  CHECK(std::filesystem::exists(a_dir / "index.html"));  // not overwritten

  // The first compare again with --resume and another --jobs: its own directory, nothing to run.
  const Run again = bend::testing::run_command(in_dir + " --acts relu,gelu --jobs 1 --resume");
  INFO(again.out);
  CHECK(again.code == 0);
  CHECK_THAT(again.out,
             Catch::Contains("resumed: 2 of 2 run(s) loaded from " + (a_dir.filename() / "runs").string()));
  std::filesystem::remove_all(dir);
}

// Ctrl-C for real: SIGINT in the middle of an epoch finishes the step, writes a checkpoint, says where,
// and exits 130; --resume then continues from it to the end.
TEST_CASE("SIGINT mid-run writes a checkpoint that --resume continues", "[cli][mnist]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_cli_sigint";
  if (!fresh_mnist_test_dir(dir)) return;
  const std::filesystem::path log = dir / "train.log", checkpoint = dir / "checkpoint.safetensors";

  // Enough epochs that the run cannot end by itself before the signal (each epoch over 12,800 images).
  std::vector<std::string> args = {BEND_CLI_PATH,      "train",     "--data-dir",   kMnist.string(),
                                   "--epochs",         "1000",      "--schedule",   "none",
                                   "--train-limit",    "12800",     "--test-limit", "500",
                                   "--checkpoint-dir", dir.string()};
  // Interrupt the second epoch.
  const auto [status, out] = bend::testing::interrupt_in_second_epoch(args, log, SIGINT);
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_THAT(out, Catch::Contains("interrupted after step") && Catch::Contains(checkpoint.string()));
  REQUIRE(std::filesystem::exists(checkpoint));
  CHECK(run("info " + checkpoint.string()).code == 0);

  const Run resume = run("train --data-dir " + kMnist.string() +
                         " --epochs 3 --train-limit 12800 --test-limit 500 "
                         "--json --resume " +
                         checkpoint.string() + " --checkpoint-dir " + dir.string());
  INFO(resume.out);
  CHECK(resume.code == 0);
  CHECK_THAT(resume.out, Catch::Contains("\"epoch\":3") && Catch::Contains("summary"));
  std::filesystem::remove_all(dir);
}
namespace {

// A 10-image EMNIST "mnist" test split (emnist-mnist-test-*) in `dir`, labels 0..9, images stored
// transposed as EMNIST does.
void write_emnist_mnist_test(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  bend::testing::Bytes labels;
  for (std::uint8_t k = 0; k < 10; ++k) labels.push_back(k);
  bend::testing::write_file(dir / "emnist-mnist-test-images-idx3-ubyte",
                            bend::testing::make_idx(0x08, {10, 28, 28}, bend::testing::sequence(10 * 784)));
  bend::testing::write_file(dir / "emnist-mnist-test-labels-idx1-ubyte",
                            bend::testing::make_idx(0x08, {10}, labels));
}

std::string save_linear_model(const std::filesystem::path& path, const std::string& arch) {
  const bend::nn::ModelSpec spec = bend::nn::ModelSpec::parse(arch, "relu");
  bend::Rng rng(1);
  bend::nn::save_model(path, bend::nn::build_model(spec, bend::nn::init::Scheme::Torch, rng), spec);
  return path.string();
}

}  // namespace

TEST_CASE("eval refuses a model whose outputs are not the dataset's classes", "[cli]") {
  const bend::testing::TempDir tmp;
  write_emnist_mnist_test(tmp.path);
  const std::string data = " --dataset emnist-mnist --data-dir " + tmp.path.string();

  const std::string ok = save_linear_model(tmp.path / "ten.safetensors", "784-10");
  const Run good = run("eval --model " + ok + data + " --json");
  INFO(good.out);
  CHECK(good.code == 0);
  CHECK_THAT(good.out, Catch::Contains("\"samples\":10"));

  for (const char* arch : {"784-20", "784-3"}) {
    INFO(arch);
    const std::string model = save_linear_model(tmp.path / (std::string(arch) + ".safetensors"), arch);
    const std::string outputs = std::string(arch).substr(4);
    for (const std::string& extra : {std::string(), " --predictions " + (tmp.path / "p.csv").string()}) {
      const Run r = run("eval --model " + model + data + extra);
      INFO(r.out);
      CHECK(r.code == 1);
      CHECK_THAT(r.out, Catch::Contains(model) && Catch::Contains(outputs + " outputs") &&
                            Catch::Contains("emnist-mnist/test has 10 classes"));
      CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
      CHECK_THAT(r.out, !Catch::Contains("accuracy"));
    }
  }
}

#endif

}  // namespace BEND_UNITY_ID
