// The CLI through its binary: help, exit codes (2 usage, 1 runtime), one-line errors, and a real
// train -> eval -> predict -> info round on a tiny MNIST subset when the data are present.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/wait.h>

#ifdef BEND_CLI_PATH
namespace {

struct Run {
  int code;
  std::string out;  // stdout and stderr together
};

Run run(const std::string& args) {
  const std::string cmd = std::string(BEND_CLI_PATH) + " " + args + " 2>&1";
  Run r{0, {}};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.out += buf.data();
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";

}  // namespace

TEST_CASE("every subcommand has --help", "[cli]") {
  for (const char* cmd : {"train", "eval", "predict", "info", "compare", "lab", "plot"}) {
    INFO(cmd);
    const Run r = run(std::string(cmd) + " --help");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") || Catch::Contains("usage"));
  }
  CHECK(run("--help").code == 0);
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
  CHECK(run("train --batch abc").code == 2);
  CHECK(run("train --opt rmsprop").code == 2);
  CHECK(run("train --no-such-flag").code == 2);
  CHECK(run("train --metrics out.txt").code == 2);
  CHECK(run("eval").code == 2);
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
  if (!std::filesystem::exists(kMnist / "train-labels-idx1-ubyte")) {
    WARN("MNIST not found; run data/fetch-mnist.sh (CI does)");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_cli_mnist";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data = " --data-dir " + kMnist.string();
  const std::string model = (dir / "m.safetensors").string();
  const Run t = run("train" + data + " --epochs 1 --train-limit 3000 --test-limit 500 --quiet --save " +
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
  // Resuming a finished run with more epochs trains the rest.
  const Run resume = run("train" + data + " --epochs 2 --train-limit 3000 --test-limit 500 --json --resume " +
                         (dir / "checkpoint.safetensors").string() + " --checkpoint-dir " + dir.string());
  INFO(resume.out);
  CHECK(resume.code == 0);
  CHECK_THAT(resume.out, Catch::Contains("\"epoch\":2"));
  CHECK_THAT(resume.out, !Catch::Contains("\"epoch\":1"));
  std::filesystem::remove_all(dir);
}
#endif
