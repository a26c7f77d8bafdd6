// Faults, through the CLI: a run killed inside a checkpoint write (the BEND_FAILPOINT failpoints,
// bend/io/failpoint.hpp) resumes from its last checkpoint, mid-epoch with --checkpoint-every, and ends
// with the uninterrupted run's weights bit for bit; a full disk during a checkpoint gives one line and
// leaves the earlier files as they were (train, compare --jobs 2, mpirun); a truncated IDX or text file
// is an error before training starts; a SIGKILLed rank ends the MPI job with a line naming it, and
// --resume continues; a second writer on a checkpoint or output directory is refused.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bend/dist/mpi.hpp"
#include "bend/io/directory_lock.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {

namespace fs = std::filesystem;
using bend::testing::CommandResult;
using bend::testing::run_command;

const fs::path kMnist = fs::path(BEND_SOURCE_DIR) / "data" / "mnist";

bool have_mnist() {
  return bend::testing::require_available(fs::exists(kMnist / "train-labels-idx1-ubyte"),
                                          "MNIST in " + kMnist.string(), "run data/fetch-mnist.sh");
}

bool have_mpi() {
  if (!have_mnist()) return false;
  if (!bend::testing::require_available(std::system("command -v mpirun >/dev/null 2>&1") == 0, "mpirun",
                                        "install openmpi-bin (scripts/install-deps.sh)"))
    return false;
  return bend::testing::require_available(bend::dist::built_with_mpi(), "bend built with MPI",
                                          "install libopenmpi-dev and configure with -DBEND_MPI=ON");
}

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::path(BEND_BINARY_DIR) / "test_faults" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// 784-16-10 on 640 images, batch 32: 20 steps an epoch, 2 epochs, a checkpoint every 7 steps (steps 7
// and 14 inside epoch 1, 20 at its end, 21, 28, 35 inside epoch 2, 40 at the end).
std::string mlp_run(const fs::path& dir, const std::string& extra = "") {
  return std::string(BEND_CLI_PATH) + " train --data-dir " + kMnist.string() +
         " --arch 784-16-10 --train-limit 640 --test-limit 100 --batch 32 --epochs 2 --threads 1 "
         "--checkpoint-every 7 --quiet --checkpoint-dir " +
         (dir / "ck").string() + " --save " + (dir / "model.safetensors").string() + " " + extra;
}

// A small character-level GPT: 30 steps, estimates (with checkpoints) at steps 0, 10, 20 and 30, and a
// checkpoint every 4 steps between them (4, 8, 12, 16, 24, 28).
std::string gpt_run(const fs::path& dir, const fs::path& text, const std::string& extra = "") {
  return std::string(BEND_CLI_PATH) + " train --model gpt --text " + text.string() +
         " --n-layer 1 --n-head 2 --n-embd 16 --block-size 16 --batch 4 --eval-iters 2 --eval-interval 10 "
         "--steps 30 --warmup-iters 5 --threads 1 --checkpoint-every 4 --quiet --checkpoint-dir " +
         (dir / "ck").string() + " --save " + (dir / "model.safetensors").string() + " " + extra;
}

fs::path write_text(const fs::path& dir) {
  const fs::path path = dir / "text.txt";
  std::ofstream out(path);
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "über", "naïve", "dog"};
  std::uint32_t state = 1;
  for (int i = 0; i < 3000; ++i) {
    state = state * 1664525u + 1013904223u;
    out << words[(state >> 16) % 10] << ' ';
  }
  return path;
}

// What `bend info` says about a checkpoint's position.
std::string info_of(const fs::path& checkpoint) {
  const CommandResult r = run_command(std::string(BEND_CLI_PATH) + " info " + checkpoint.string());
  INFO(r.out);
  CHECK(r.code == 0);
  return r.out;
}

std::vector<std::string> lines_starting(const std::string& out, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
  return found;
}

}  // namespace

TEST_CASE("faults: a run killed inside a checkpoint write resumes and ends bit-identical",
          "[faults][cli][mnist]") {
  if (!have_mnist()) return;
  const auto ref = fresh_dir("mlp_ref");
  const CommandResult whole = run_command(mlp_run(ref));
  INFO(whole.out);
  REQUIRE(whole.code == 0);
  // after-write: killed before the rename of step 20's checkpoint, step 14's stays (mid-epoch);
  // after-rename: killed once step 20's checkpoint is in place, before the directory sync.
  for (const auto& [point, position] :
       {std::pair<std::string, std::string>{"after-write:3", "optimizer steps: 14"},
        {"after-rename:3", "optimizer steps: 20"}}) {
    INFO(point);
    const auto dir = fresh_dir("mlp_" + point.substr(0, point.find(':')));
    const CommandResult killed = run_command("BEND_FAILPOINT=" + point + "@checkpoint " + mlp_run(dir));
    INFO(killed.out);
    CHECK(killed.code == 128 + SIGKILL);
    const fs::path checkpoint = dir / "ck" / "checkpoint.safetensors";
    REQUIRE(fs::exists(checkpoint));
    CHECK_THAT(info_of(checkpoint), Catch::Contains(position));
    const CommandResult resumed = run_command(mlp_run(dir, "--resume " + checkpoint.string()));
    INFO(resumed.out);
    REQUIRE(resumed.code == 0);
    if (point.starts_with("after-write"))
      CHECK_THAT(resumed.out, Catch::Contains("removed 1 temporary file of killed runs"));
    CHECK(bytes_of(dir / "model.safetensors") == bytes_of(ref / "model.safetensors"));
  }
}

TEST_CASE("faults: a GPT killed inside a --checkpoint-every write resumes and ends bit-identical",
          "[faults][cli][gpt]") {
  const auto ref = fresh_dir("gpt_ref");
  const fs::path text = write_text(ref);
  const CommandResult whole = run_command(gpt_run(ref, text));
  INFO(whole.out);
  REQUIRE(whole.code == 0);
  // Writes: step 0 (estimate), 4, 8, then step 10's estimate: killed there, step 8's stays.
  const auto dir = fresh_dir("gpt_killed");
  const CommandResult killed = run_command("BEND_FAILPOINT=after-write:4@checkpoint " + gpt_run(dir, text));
  INFO(killed.out);
  CHECK(killed.code == 128 + SIGKILL);
  const fs::path checkpoint = dir / "ck" / "checkpoint.safetensors";
  CHECK_THAT(info_of(checkpoint), Catch::Contains("optimizer steps: 8"));
  const CommandResult resumed = run_command(gpt_run(dir, text, "--resume " + checkpoint.string()));
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK(bytes_of(dir / "model.safetensors") == bytes_of(ref / "model.safetensors"));
}

TEST_CASE("faults: --checkpoint-every and BEND_FAILPOINT refuse bad values", "[faults][cli]") {
  const auto dir = fresh_dir("bad_values");
  const CommandResult negative = run_command(std::string(BEND_CLI_PATH) +
                                             " train --checkpoint-every -1 --checkpoint-dir " + dir.string());
  CHECK(negative.code == 2);
  CHECK_THAT(negative.out, Catch::Contains("--checkpoint-every must be >= 0"));
  const fs::path text = write_text(dir);
  const CommandResult bad = run_command("BEND_FAILPOINT=after-lunch " + gpt_run(dir, text));
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("BEND_FAILPOINT='after-lunch'"));
}

TEST_CASE("faults: a full disk during a checkpoint gives one line and leaves the last one intact",
          "[faults][cli][mnist]") {
  if (!have_mnist()) return;
  const auto dir = fresh_dir("enospc_train");
  // Writes at steps 7 and 14 succeed; step 20's finds the disk full.
  const CommandResult r = run_command("BEND_FAILPOINT=enospc:3@checkpoint " + mlp_run(dir));
  INFO(r.out);
  CHECK(r.code == 1);
  const auto errors = lines_starting(r.out, "bend train: error:");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0],
             Catch::Contains("checkpoint.safetensors") && Catch::Contains("No space left on device"));
  CHECK_THAT(info_of(dir / "ck" / "checkpoint.safetensors"), Catch::Contains("optimizer steps: 14"));
  for (const auto& entry : fs::directory_iterator(dir / "ck"))  // no temporary file left behind
    CHECK_THAT(entry.path().filename().string(), !Catch::Contains(".tmp."));
}

TEST_CASE("faults: a full disk under compare --jobs 2 stops the sweep with one line; --resume finishes it",
          "[faults][cli][mnist][compare]") {
  if (!have_mnist()) return;
  const auto dir = fresh_dir("enospc_compare");
  const std::string sweep = std::string(BEND_CLI_PATH) + " compare --data-dir " + kMnist.string() +
                            " --acts relu,tanh --seeds 3 --epochs 1 --train-limit 256 --test-limit 64 "
                            "--arch 784-16-10 --probe 32 --jobs 2 --threads 2 --out " +
                            (dir / "out").string();
  // The first two run files are written; the third finds the disk full, and it stays full.
  const CommandResult full = run_command("BEND_FAILPOINT=enospc:3@seed " + sweep);
  INFO(full.out);
  CHECK(full.code == 1);
  CHECK(lines_starting(full.out, "bend compare: warning").empty());
  const auto errors = lines_starting(full.out, "bend compare: error:");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("No space left on device") && Catch::Contains("--resume"));
  std::vector<std::string> saved;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "runs"))
    saved.push_back(entry.path().filename().string());
  CHECK(saved.size() == 2);
  CHECK(!fs::exists(dir / "out" / "summary.json"));
  const CommandResult resumed = run_command(sweep + " --resume");
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resumed: 2 of 6 run(s) loaded"));
  CHECK(fs::exists(dir / "out" / "summary.json"));
}

TEST_CASE("faults: a sweep killed inside a run file's write leaves no temporary file once resumed",
          "[faults][cli][mnist][compare]") {
  if (!have_mnist()) return;
  const auto dir = fresh_dir("killed_compare");
  const std::string sweep = std::string(BEND_CLI_PATH) + " compare --data-dir " + kMnist.string() +
                            " --acts relu,tanh --seeds 2 --epochs 1 --train-limit 256 --test-limit 64 "
                            "--arch 784-16-10 --probe 32 --jobs 2 --threads 2 --resume --out " +
                            (dir / "out").string();
  // Killed between the write and the rename of the second run file.
  const CommandResult killed = run_command("BEND_FAILPOINT=after-write:2@seed " + sweep);
  INFO(killed.out);
  CHECK(killed.code == 128 + SIGKILL);
  const CommandResult resumed = run_command(sweep);
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  // With --jobs 2 the other run may be inside its own write when the process dies: one or two files.
  CHECK_THAT(resumed.out, Catch::Contains("resumed: 1 of 4 run(s) loaded") &&
                              (Catch::Contains("removed 1 temporary file of killed runs") ||
                               Catch::Contains("removed 2 temporary files of killed runs")));
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "runs"))
    files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files ==
        std::vector<std::string>{"relu-seed0.json", "relu-seed1.json", "tanh-seed0.json", "tanh-seed1.json"});
}

TEST_CASE("faults: a truncated IDX or text file is an error before training starts", "[faults][cli][mnist]") {
  if (!have_mnist()) return;
  const auto dir = fresh_dir("truncated");
  // MNIST with its training images cut in the middle (the other files as they are).
  const auto data = dir / "data";
  fs::create_directories(data);
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    fs::create_symlink(fs::absolute(kMnist / name), data / name);
  {
    const std::string images = bytes_of(kMnist / "train-images-idx3-ubyte");
    std::ofstream(data / "train-images-idx3-ubyte", std::ios::binary).write(images.data(), images.size() / 2);
  }
  const CommandResult idx = run_command(std::string(BEND_CLI_PATH) + " train --data-dir " + data.string() +
                                        " --epochs 1 --checkpoint-dir " + (dir / "ck1").string());
  INFO(idx.out);
  CHECK(idx.code == 1);
  CHECK_THAT(idx.out, Catch::Contains("truncated") && Catch::Contains("train-images-idx3-ubyte"));
  CHECK_THAT(idx.out, !Catch::Contains("epoch 1"));
  CHECK(!fs::exists(dir / "ck1" / "checkpoint.safetensors"));
  // A UTF-8 text cut inside a character (a text cut between characters is a shorter text).
  const fs::path text = dir / "cut.txt";
  {
    std::string content;
    for (int i = 0; i < 200; ++i) content += "naïve café 東京 ";
    content += "東";
    content.resize(content.size() - 1);
    std::ofstream(text, std::ios::binary) << content;
  }
  const CommandResult cut =
      run_command(std::string(BEND_CLI_PATH) + " train --model gpt --text " + text.string() +
                  " --steps 10 --checkpoint-dir " + (dir / "ck2").string());
  INFO(cut.out);
  CHECK(cut.code == 1);
  CHECK_THAT(cut.out, Catch::Contains("cut off by the end of the text") && Catch::Contains("cut.txt"));
  CHECK(!fs::exists(dir / "ck2" / "checkpoint.safetensors"));
}

TEST_CASE("faults: a second writer on a checkpoint or output directory is refused with the holder's pid",
          "[faults][cli][lock]") {
  const auto dir = fresh_dir("lock");
  const fs::path text = write_text(dir);
  const bend::DirectoryLock held(dir / "ck", "a test", "--checkpoint-dir");
  const std::string holder = "in use by process " + std::to_string(::getpid());
  const CommandResult gpt = run_command(gpt_run(dir, text));
  INFO(gpt.out);
  CHECK(gpt.code == 1);
  CHECK_THAT(gpt.out, Catch::Contains(holder));
  if (!have_mnist()) return;
  const CommandResult mlp = run_command(mlp_run(dir));
  INFO(mlp.out);
  CHECK(mlp.code == 1);
  CHECK_THAT(mlp.out, Catch::Contains(holder));
  const CommandResult compare =
      run_command(std::string(BEND_CLI_PATH) + " compare --data-dir " + kMnist.string() +
                  " --acts relu --epochs 1 --train-limit 64 --test-limit 32 --arch 784-8-10 --out " +
                  (dir / "ck").string());
  INFO(compare.out);
  CHECK(compare.code == 1);
  CHECK_THAT(compare.out, Catch::Contains(holder));
}

#ifdef BEND_MPI_WORLD_CHECK_PATH  // built with MPI
namespace {

std::string mpirun_two(const std::string& command) {
  return "timeout 60 mpirun --oversubscribe --allow-run-as-root -np 2 " + command;
}

std::string ddp_run(const fs::path& dir, const std::string& extra) {
  return std::string(BEND_CLI_PATH) + " train --data-dir " + kMnist.string() +
         " --arch 784-32-10 --train-limit 640 --test-limit 100 --batch 64 --threads 1 --quiet "
         "--checkpoint-dir " +
         (dir / "ck").string() + " " + extra;
}

}  // namespace

TEST_CASE("faults: a full disk during rank 0's checkpoint under mpirun: one line, the last checkpoint intact",
          "[faults][mpi]") {
  if (!have_mpi()) return;
  const auto dir = fresh_dir("enospc_mpi");
  // Epoch 1's checkpoint is written; epoch 2's finds the disk full.
  const CommandResult r =
      run_command(mpirun_two("-x BEND_FAILPOINT=enospc:2@checkpoint " + ddp_run(dir, "--epochs 3")));
  INFO(r.out);
  CHECK(r.code == 1);
  const auto errors = lines_starting(r.out, "bend train:");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("rank 0 of 2") && Catch::Contains("No space left on device"));
  const fs::path checkpoint = dir / "ck" / "checkpoint.safetensors";
  CHECK_THAT(info_of(checkpoint), Catch::Contains("epochs done: 1"));
  const CommandResult resumed =
      run_command(mpirun_two(ddp_run(dir, "--epochs 3 --resume " + checkpoint.string())));
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(info_of(checkpoint), Catch::Contains("epochs done: 3"));
}

// A rank SIGKILLed mid-run (as the OOM killer or a failed node does): mpirun ends the others within
// seconds with a line naming the rank, the checkpoint is whole, and --resume continues the job.
TEST_CASE("faults: a rank SIGKILLed under mpirun ends the job with a line naming it; --resume continues",
          "[faults][mpi]") {
  if (!have_mpi()) return;
  const auto dir = fresh_dir("dead_rank");
  const fs::path checkpoint = dir / "ck" / "checkpoint.safetensors", pid_file = dir / "rank1.pid";
  // Each rank writes its pid, then becomes bend; far more epochs than the test lets it run.
  const std::string wrapped = "bash -c '[ $OMPI_COMM_WORLD_RANK = 1 ] && echo $$ > " + pid_file.string() +
                              "; exec " + ddp_run(dir, "--epochs 1000 --checkpoint-every 3") + "'";
  CommandResult job;
  std::thread runner([&] { job = run_command(mpirun_two(wrapped)); });
  // Once a checkpoint is there (and rank 1 has said who it is), rank 1 is killed.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(50);
  while ((!fs::exists(checkpoint) || !fs::exists(pid_file) || fs::file_size(pid_file) == 0) &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const bool started = fs::exists(checkpoint) && fs::exists(pid_file);
  if (started) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(static_cast<pid_t>(std::stol(bytes_of(pid_file))), SIGKILL);
  }
  runner.join();
  INFO(job.out);
  REQUIRE(started);
  CHECK(job.code != 0);
  CHECK(job.code != 124);  // timeout's: the job did not end by itself
  CHECK_THAT(job.out, Catch::Contains("rank 1") && Catch::Contains("signal 9"));
  // The checkpoint is whole; the resumed job runs 15 steps more (--steps) and checkpoints there.
  const std::string before = info_of(checkpoint);
  const auto at = before.find("optimizer steps: ");
  REQUIRE(at != std::string::npos);
  const long steps = std::stol(before.substr(at + 17));
  const CommandResult resumed = run_command(mpirun_two(ddp_run(
      dir, "--epochs 1000 --steps " + std::to_string(steps + 15) + " --resume " + checkpoint.string())));
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(info_of(checkpoint), Catch::Contains("optimizer steps: " + std::to_string(steps + 15)));
}
#endif  // BEND_MPI_WORLD_CHECK_PATH

#endif  // BEND_CLI_PATH

}  // namespace BEND_UNITY_ID
