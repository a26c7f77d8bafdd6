// What a hostile user found in the CLI (issue 29), one process: each case is a clear refusal or the
// right result, never a hang, a lost run or a wrong number said with confidence. The MPI cases are in
// test_ddp.cpp.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bend/io/directory_lock.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/tensor.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {

namespace fs = std::filesystem;
using Catch::Contains;
using Run = bend::testing::CommandResult;
using bend::testing::ScratchDir;

const fs::path kMnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";
const fs::path kFashion = "/usr/share/datasets/fashion-mnist";

// `bend <args>`, stdout and stderr together, at most 60 s.
Run bend_cli(const std::string& args) {
  return bend::testing::run_command("timeout 60 " + std::string(BEND_CLI_PATH) + " " + args);
}

bool have_mnist() {
  return bend::testing::require_available(fs::exists(kMnist / "train-labels-idx1-ubyte"),
                                          "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh");
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
  return n;
}

// Trains 3 steps of a 2-epoch run into `dir`, then resumes with nothing but --resume and the data
// limits: the resumed run must build the checkpoint's model on the checkpoint's dataset.
void require_resume_from_checkpoint_alone(const std::string& model_flags, const std::string& data) {
  ScratchDir dir;
  const std::string limits = " --train-limit 256 --test-limit 100 --batch 64 --threads 1" + data;
  const Run first = bend_cli("train " + model_flags + " --epochs 2 --steps 3 --checkpoint-dir " +
                             dir.path().string() + limits);
  INFO(first.out);
  REQUIRE(first.code == 0);
  const std::string checkpoint = (dir.path() / "checkpoint.safetensors").string();
  const Run resumed =
      bend_cli("train --resume " + checkpoint + " --checkpoint-dir " + dir.path().string() + limits);
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out,
             Contains("resumed from " + checkpoint + " at epoch 1, step 3") && Contains("epoch   2"));
}

}  // namespace

TEST_CASE("resume: an MLP's checkpoint alone says its architecture, activation, norm and dropout",
          "[cli][mnist][resume]") {
  if (!have_mnist()) return;
  require_resume_from_checkpoint_alone(
      "--arch 784-16-10 --act tanh --norm layer --dropout 0.1 --standardize --seed 3",
      " --data-dir " + kMnist.string());
}

TEST_CASE("resume: a LeNet-5 checkpoint resumes without --model", "[cli][mnist][resume]") {
  if (!have_mnist()) return;
  require_resume_from_checkpoint_alone("--model lenet5 --norm batch", " --data-dir " + kMnist.string());
}

TEST_CASE("resume: a Fashion-MNIST checkpoint resumes on Fashion-MNIST without --dataset", "[cli][resume]") {
  if (!bend::testing::require_available(fs::exists(kFashion / "train-labels-idx1-ubyte.gz") ||
                                            fs::exists(kFashion / "train-labels-idx1-ubyte"),
                                        "Fashion-MNIST in " + kFashion.string(),
                                        "apt-get install dataset-fashion-mnist"))
    return;
  require_resume_from_checkpoint_alone("--dataset fashion --arch 784-16-10", "");
}

TEST_CASE("resume: a flag given explicitly still wins over the checkpoint, and is checked against it",
          "[cli][mnist][resume]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const std::string limits =
      " --train-limit 256 --test-limit 100 --batch 64 --threads 1 --data-dir " + kMnist.string();
  REQUIRE(
      bend_cli("train --arch 784-16-10 --epochs 2 --steps 3 --checkpoint-dir " + dir.path().string() + limits)
          .code == 0);
  const Run other = bend_cli("train --act gelu --resume " + (dir.path() / "checkpoint.safetensors").string() +
                             " --checkpoint-dir " + dir.path().string() + limits);
  INFO(other.out);
  CHECK(other.code == 1);
  CHECK_THAT(other.out, Contains("bend.act: file 'relu', run 'gelu'"));
}
TEST_CASE("BatchNorm: a last batch of one sample is dropped and said once; one sample per batch is refused",
          "[cli][mnist][batchnorm]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const std::string common =
      " --arch 784-16-10 --norm batch --test-limit 100 --threads 1 --epochs 2 --data-dir " + kMnist.string() +
      " --checkpoint-dir " + dir.path().string();
  const Run dropped = bend_cli("train --train-limit 129 --batch 64" + common);
  INFO(dropped.out);
  CHECK(dropped.code == 0);
  CHECK(count_of(dropped.out, "the last batch of each epoch (1 of 129 samples) is left out") == 1);
  const Run one_sample = bend_cli("train --train-limit 1" + common);
  INFO(one_sample.out);
  CHECK(one_sample.code == 1);
  CHECK_THAT(one_sample.out, Contains("BatchNorm needs at least 2 samples") && Contains("--train-limit"));
  CHECK_THAT(one_sample.out, !Contains("epoch   1"));
  const Run batch_one = bend_cli("train --train-limit 100 --batch 1" + common);
  INFO(batch_one.out);
  CHECK(batch_one.code == 1);
  CHECK_THAT(batch_one.out, Contains("BatchNorm needs at least 2 samples") && Contains("--batch"));
}

TEST_CASE("lab: one experiment that cannot run does not lose the others", "[cli][mnist][lab]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const Run r = bend_cli("lab all --quick --train-limit 1 --epochs 1 --data-dir " + kMnist.string() +
                         " --out " + dir.path().string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("bend lab batchnorm: error: BatchNorm needs at least 2 samples") &&
                        Contains("experiments failed (batchnorm"));
  CHECK(fs::exists(dir.path() / "index.html"));
  CHECK_THAT(r.out, Contains("== [2/") && Contains("] xor ... =="));
}

TEST_CASE("flags that meant 'default', or that another flag silently beat, are usage errors", "[cli]") {
  for (const std::string& args :
       {std::string("lab batchnorm --epochs 0"), std::string("lab batchnorm --train-limit 0"),
        std::string("compare --acts ''"), std::string("compare --seeds 1000000000"),
        std::string("train --momentum 0.9 --opt-arg momentum=0.5 --opt sgd"),
        std::string("train --opt rmsprop --opt-arg alpha=0.9 --opt-arg alpha=0.8")}) {
    const Run r = bend_cli(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK(count_of(r.out, "\n") == 1);
  }
}

TEST_CASE("lab and compare: an --out that cannot be written is refused before the first run", "[cli]") {
  ScratchDir dir;
  std::ofstream(dir.path() / "a-file") << "not a directory";
  const std::string below_a_file = (dir.path() / "a-file" / "out").string();
  for (const std::string& args : {"compare --acts relu --epochs 1 --train-limit 64 --out " + below_a_file,
                                  "lab xor --out " + below_a_file}) {
    const Run r = bend_cli(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Contains("--out " + below_a_file + ": cannot write there") && !Contains("comparing") &&
                          !Contains("== xor =="));
  }
}
TEST_CASE("train: SIGTERM and SIGHUP stop a single process with a checkpoint, as Ctrl-C does",
          "[cli][mnist][signals]") {
  if (!have_mnist()) return;
  for (const int signal : {SIGTERM, SIGHUP}) {
    ScratchDir dir;
    const fs::path log = dir.path() / "train.log", checkpoint = dir.path() / "checkpoint.safetensors";
    const std::vector<std::string> args = {
        BEND_CLI_PATH,  "train",     "--data-dir",       kMnist.string(),
        "--arch",       "784-32-10", "--epochs",         "100",
        "--threads",    "1",         "--train-limit",    "6400",
        "--test-limit", "500",       "--checkpoint-dir", dir.path().string()};
    const auto [status, out] = bend::testing::interrupt_in_second_epoch(args, log, signal);
    INFO("signal " << signal << "\n" << out);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK_THAT(out, Contains("interrupted after step") && Contains(checkpoint.string()));
    CHECK(fs::exists(checkpoint));
  }
}

TEST_CASE("train: --resume with --init-from is a usage error, not a silent choice", "[cli]") {
  const Run r = bend_cli("train --resume a.safetensors --init-from b.safetensors");
  INFO(r.out);
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Contains("--resume") && Contains("--init-from") && Contains("not both"));
}
TEST_CASE("compare --resume refuses a run file with an accuracy out of range or a value of the wrong type",
          "[cli][mnist][compare]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const std::string args =
      "compare --acts relu --arch 784-16-10 --epochs 1 --train-limit 128 --test-limit 100 "
      "--threads 1 --data-dir " +
      kMnist.string() + " --out " + dir.path().string();
  const Run first = bend_cli(args);
  INFO(first.out);
  REQUIRE(first.code == 0);
  fs::path run_file;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path() / "runs"))
    if (entry.path().extension() == ".json") run_file = entry.path();
  REQUIRE(!run_file.empty());
  const nlohmann::json original = nlohmann::json::parse(bend::testing::read_text_file(run_file));
  const auto resume_with = [&](const nlohmann::json& edited) {
    std::ofstream(run_file) << edited.dump();
    return bend_cli(args + " --resume");
  };
  nlohmann::json edited = original;
  edited["history"][0]["test_accuracy"] = 57.0;  // printed "2870.70 +- 4001.23%" before
  const Run accuracy = resume_with(edited);
  INFO(accuracy.out);
  CHECK(accuracy.code == 1);
  CHECK_THAT(accuracy.out, Contains("test_accuracy 57 is not a fraction in [0, 1]"));
  edited = original;
  edited["seed"] = "x";
  const Run type = resume_with(edited);
  INFO(type.out);
  CHECK(type.code == 1);
  CHECK_THAT(type.out, Contains("malformed run record: a value has the wrong type") &&
                           !Contains("json.exception") && !Contains("at()"));
}
TEST_CASE("eval and predict refuse a model with a NaN or infinite weight or a negative running variance",
          "[cli][mnist]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const fs::path model = dir.path() / "model.safetensors", edited = dir.path() / "edited.safetensors";
  const std::string data = " --data-dir " + kMnist.string();
  const Run train = bend_cli(
      "train --arch 784-8-10 --norm batch --train-limit 128 --test-limit 100 --epochs 1 "
      "--threads 1 --checkpoint-dir " +
      dir.path().string() + " --save " + model.string() + data);
  INFO(train.out);
  REQUIRE(train.code == 0);
  REQUIRE(bend_cli("eval --model " + model.string() + data).code == 0);
  bend::nn::Metadata metadata;
  const bend::nn::NamedTensors tensors = bend::nn::load_tensors(model, &metadata);
  const std::vector<std::tuple<std::string, float, std::string>> edits = {
      {"0.weight", std::numeric_limits<float>::quiet_NaN(), "holds nan"},
      {"3.bias", std::numeric_limits<float>::infinity(), "holds inf"},
      {"1.running_var", -1.0f, "holds a negative variance"}};
  for (const auto& [name, value, expected] : edits) {
    bend::nn::NamedTensors changed;
    for (const auto& [key, tensor] : tensors) {
      bend::Tensor copy = tensor.clone();
      if (key == name) copy.data()[0] = value;
      changed.emplace_back(key, copy);
    }
    bend::nn::save_tensors(edited, changed, metadata);
    for (const std::string command : {"eval --model ", "predict --index 0 --model "}) {
      const Run r = bend_cli(command + edited.string() + data);
      INFO(command << name << "\n" << r.out);
      CHECK(r.code == 1);
      CHECK_THAT(r.out, Contains("tensor '" + name + "' " + expected) && !Contains("accuracy"));
    }
  }
}
TEST_CASE("train: the temporary file a killed checkpoint write left is removed by the next run there",
          "[cli][mnist]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const pid_t child = ::fork();  // a process that has exited: the "killed" writer
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const fs::path stale = dir.path() / (".checkpoint.safetensors.tmp." + std::to_string(child) + ".0");
  std::ofstream(stale) << std::string(4096, 'x');
  const Run r = bend_cli(
      "train --arch 784-8-10 --train-limit 64 --test-limit 50 --epochs 1 --threads 1 "
      "--checkpoint-dir " +
      dir.path().string() + " --data-dir " + kMnist.string());
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_FALSE(fs::exists(stale));
  CHECK_THAT(r.out, Contains("removed 1 temporary file of killed runs from " + dir.path().string()));
  CHECK(fs::exists(dir.path() / "checkpoint.safetensors"));
}
TEST_CASE("train: a warm-up longer than the whole run is refused before training", "[cli][mnist]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const Run r =
      bend_cli("train --arch 784-8-10 --train-limit 64 --batch 32 --epochs 2 --warmup 5 --checkpoint-dir " +
               dir.path().string() + " --data-dir " + kMnist.string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("--warmup 5 is longer than the whole run (2 epochs x 2 batches = 4 steps)"));
  CHECK(bend_cli("train --arch 784-8-10 --train-limit 64 --batch 32 --epochs 2 --warmup 4 --threads 1 "
                 "--checkpoint-dir " +
                 dir.path().string() + " --data-dir " + kMnist.string())
            .code == 0);
}
TEST_CASE("train --model vit warms up over one epoch unless --warmup says otherwise; resume keeps it",
          "[cli][mnist][resume]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  // 256 images at batch 64: 4 steps an epoch, so the preset's one-epoch warm-up is 4 steps.
  const std::string limits = " --train-limit 256 --test-limit 64 --batch 64 --threads 1 --data-dir " +
                             kMnist.string() + " --checkpoint-dir " + dir.path().string();
  const Run first = bend_cli("train --model vit --epochs 2 --steps 3" + limits);
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK_THAT(first.out, Contains("after 4 warm-up steps"));
  const std::string checkpoint = (dir.path() / "checkpoint.safetensors").string();
  const Run other = bend_cli("train --resume " + checkpoint + " --warmup 2" + limits);
  INFO(other.out);
  CHECK(other.code == 1);
  CHECK_THAT(other.out, Contains("warmed up over 4 steps but the run asks for 2"));
  const Run resumed = bend_cli("train --resume " + checkpoint + limits);
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Contains("after 4 warm-up steps") && Contains("epoch   2"));
  const Run none = bend_cli(
      "train --model vit --epochs 1 --steps 1 --warmup 0 --checkpoint-dir " + (dir.path() / "none").string() +
      " --train-limit 256 --test-limit 64 --threads 1 " + "--data-dir " + kMnist.string());
  INFO(none.out);
  CHECK(none.code == 0);
  CHECK_THAT(none.out, !Contains("warm-up steps"));
}
TEST_CASE("control characters typed into --arch, --dataset or a command name are escaped when echoed",
          "[cli]") {
  // (printf makes the ESC byte; the shell of run_command may not know $'...')
  for (const std::string& args : {std::string("train --arch \"$(printf '784-\\033[31m-10')\""),
                                  std::string("train --dataset \"$(printf '\\033[2Jmnist')\""),
                                  std::string("\"$(printf 'tr\\033]0;x\\007ain')\"")}) {
    const Run r = bend_cli(args);
    INFO(args << "\n" << r.out);
    CHECK(r.code == 2);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x07') == std::string::npos);
    CHECK_THAT(r.out, Contains("\\x1b"));
    CHECK(count_of(r.out, "\n") == 1);
  }
}
TEST_CASE("train and compare: a directory another run writes into is refused, naming that process",
          "[cli][mnist][lock]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const bend::DirectoryLock held(dir.path(), "bend train", "--checkpoint-dir");  // the "other run": this test
  const std::string pid = std::to_string(::getpid());
  const std::string data =
      " --threads 1 --epochs 1 --train-limit 256 --test-limit 100 --data-dir " + kMnist.string();
  const Run train = bend_cli("train --checkpoint-dir " + dir.path().string() + data);
  INFO(train.out);
  CHECK(train.code == 1);
  CHECK_THAT(train.out, Contains("in use by process " + pid + " (bend train)"));
  CHECK_FALSE(fs::exists(dir.path() / "checkpoint.safetensors"));
  const Run compare = bend_cli("compare --acts relu --seeds 1 --out " + dir.path().string() + data);
  INFO(compare.out);
  CHECK(compare.code == 1);
  CHECK_THAT(compare.out, Contains("--out " + dir.path().string() + ": in use by process " + pid));
}

TEST_CASE("train: a batch of activations larger than memory is refused before the first step",
          "[cli][mnist][limits]") {
  if (!have_mnist()) return;
  ScratchDir dir;
  const std::string common =
      " --threads 1 --epochs 1 --checkpoint-dir " + dir.path().string() + " --data-dir " + kMnist.string();
  // 512 channels of 28x28: ~10 MB of activations and gradients per row, ~580 GB for 60000 rows.
  const Run wide = bend_cli("train --arch c512k3p1-10 --batch 60000" + common);
  INFO(wide.out);
  CHECK(wide.code == 1);
  CHECK_THAT(wide.out,
             Contains("a training batch of 60000 rows needs at least") && Contains("lower --batch"));
  // The typo of the issue (p2000 for p2): 4002x4002 outputs; 1000 evaluation rows need ~128 GB.
  const Run typo = bend_cli("train --arch c1k3p2000-10" + common);
  INFO(typo.out);
  CHECK(typo.code == 1);
  CHECK_THAT(typo.out, Contains("1x28x28-c1k3p2000-10: ") && Contains("of memory"));
  CHECK_THAT(typo.out, !Contains("epoch   1"));
}
#endif

}  // namespace BEND_UNITY_ID
