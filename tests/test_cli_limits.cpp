// The CLI at the limits (issue 14): hostile sizes, metadata, special files and a full disk each give
// one clear line on stderr and exit 1; no std:: exception name, no abort, no hang, no lost file.
#include "build_paths.hpp"
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "bend/io/safetensors.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

#ifdef BEND_CLI_PATH
namespace {

using bend::testing::ScratchDir;

namespace fs = std::filesystem;
using Catch::Contains;

using Run = bend::testing::CommandResult;

// Runs `bend <args>` through the shell (`prefix` goes before the binary, e.g. a ulimit), at most 60 s.
Run run(const std::string& args, const std::string& prefix = "") {
  return bend::testing::run_command("bash -c '" + prefix + " exec timeout 60 " + BEND_CLI_PATH + " " + args +
                                    "'");
}

void require_one_clear_line(const Run& r, int code = 1) {
  INFO(r.out);
  CHECK(r.code == code);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  CHECK_THAT(r.out, !Contains("std::") && !Contains("terminate") && !Contains("stof"));
}

// A 784-3-10 model file with `metadata` (bend.arch included unless given).
void write_model(const fs::path& path, std::map<std::string, std::string> metadata) {
  metadata.emplace("bend.arch", "784-3-10");
  const std::vector<float> w0(3 * 784, 0.01f), b0(3, 0.0f), w1(10 * 3, 0.1f), b1(10, 0.0f);
  const std::vector<std::int64_t> s0{3, 784}, s1{3}, s2{10, 3}, s3{10};
  const std::vector<bend::SafetensorsView> views{{"0.weight", s0, w0.data()},
                                                 {"0.bias", s1, b0.data()},
                                                 {"2.weight", s2, w1.data()},
                                                 {"2.bias", s3, b1.data()}};
  bend::save_safetensors(path, views, metadata);
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// MNIST-shaped IDX files with 8 training and 4 test images of 28x28, so these tests need no download.
void write_tiny_mnist(const fs::path& dir) {
  for (const auto& [prefix, count] : {std::pair{"train", 8u}, std::pair{"t10k", 4u}}) {
    std::string images = std::string("\0\0\x08\x03", 4) + be32(count) + be32(28) + be32(28);
    std::string labels = std::string("\0\0\x08\x01", 4) + be32(count);
    for (unsigned i = 0; i < count; ++i) {
      images += std::string(28 * 28, static_cast<char>(i * 20));
      labels += static_cast<char>(i % 10);
    }
    std::ofstream(dir / (std::string(prefix) + "-images-idx3-ubyte"), std::ios::binary) << images;
    std::ofstream(dir / (std::string(prefix) + "-labels-idx1-ubyte"), std::ios::binary) << labels;
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("cli: sizes that cannot fit are refused with what and how much", "[cli][limits]") {
  ScratchDir dir;
  write_tiny_mnist(dir.path());
  const std::string data = " --data-dir " + dir.path().string() + " --epochs 1 --quiet --checkpoint-dir \"\"";
  REQUIRE(run("train" + data).code == 0);  // the tiny dataset itself trains
  const Run huge = run("train" + data + " --arch 784-99999999999-10");
  require_one_clear_line(huge);
  // Layers are numbered as the state dict names them (module 0 is the first Linear); biases count too.
  CHECK_THAT(huge.out, Contains("layer 0 (784 -> 99999999999) needs 286 TiB"));
  const Run wide = run("train" + data + " --arch 784-100000-100000-10");
  require_one_clear_line(wide);
  CHECK_THAT(wide.out, Contains("layer 2 (100000 -> 100000) needs 37.3 GiB"));
  const Run threads = run("train" + data + " --threads 100000");
  require_one_clear_line(threads, 2);  // a usage error, caught before anything runs
  CHECK_THAT(threads.out, Contains("1024"));
}

TEST_CASE("cli: model files with bad metadata or shapes are one clear line", "[cli][limits]") {
  ScratchDir dir;
  write_tiny_mnist(dir.path());
  const fs::path model = dir.path() / "m.safetensors";
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases{
      {{{"bend.dropout", "abc"}}, "bend.dropout"},
      {{{"bend.dropout", "1e99"}}, "bend.dropout"},
      {{{"bend.arch", "784-2000000000-10"}}, "parameters"},
      {{{"bend.input_mean", "x"}, {"bend.input_std", "1"}}, "bend.input_mean"},
      {{{"bend.input_mean", "0.1"}, {"bend.input_std", "0"}}, "must be positive"}};
  for (const auto& [metadata, expected] : cases) {
    INFO(expected);
    write_model(model, metadata);
    const Run r = run("eval --model " + model.string() + " --data-dir " + dir.path().string());
    require_one_clear_line(r);
    CHECK_THAT(r.out, Contains("m.safetensors") && Contains(expected));
  }
  // A shape whose element count overflows int64 on its way to 0 ([2^32, 2^31 + 1, 0]).
  const std::string header =
      R"({"t":{"dtype":"F32","shape":[4294967296,2147483649,0],"data_offsets":[0,0]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  std::ofstream(model, std::ios::binary) << bytes << header;
  const Run info = run("info " + model.string());
  require_one_clear_line(info);
  CHECK_THAT(info.out, Contains("more elements than fit in 64 bits"));
}

TEST_CASE("cli: a FIFO given as a data file is an error, not a hang", "[cli][limits]") {
  ScratchDir dir;
  REQUIRE(::mkfifo((dir.path() / "train-images-idx3-ubyte").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((dir.path() / "train-labels-idx1-ubyte").c_str(), 0600) == 0);
  const Run r = run("train --data-dir " + dir.path().string() + " --checkpoint-dir \"\"");
  require_one_clear_line(r);
  CHECK_THAT(r.out, Contains("is a FIFO, not an IDX file"));
}

TEST_CASE("cli: a checkpoint directory that cannot be made is one clear line naming it", "[cli][limits]") {
  ScratchDir dir;
  std::ofstream(dir.path() / "a-file") << "not a directory";
  const fs::path below_a_file = dir.path() / "a-file" / "checkpoints";
  const Run r = run("train --epochs 1 --train-limit 64 --checkpoint-dir " + below_a_file.string());
  require_one_clear_line(r);
  CHECK_THAT(r.out, Contains(below_a_file.string()) && !Contains("filesystem error"));
}

TEST_CASE("cli: a full disk leaves the earlier files as they were", "[cli][limits]") {
  ScratchDir dir;
  // A 256 KiB tmpfs when this machine lets us mount one (ENOSPC), else a 64 KiB file-size limit
  // (EFBIG, SIGXFSZ ignored). A first run writes the ReLU charts (~105 KB, functions.svg ~28 KB); the
  // second, with every activation, needs a 168 KB functions.svg and must leave the first one intact.
  const fs::path small = dir.path() / "small";
  fs::create_directories(small);
  const bool mounted = ::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=256k") == 0;
  const fs::path out = small / "charts";
  const std::string limit = mounted ? "" : "trap \"\" XFSZ; ulimit -f 64;";
  REQUIRE(run("plot activations --acts relu --out " + out.string()).code == 0);
  const std::string before = read_text(out / "functions.svg");
  const Run r = run("plot activations --acts all --out " + out.string(), limit);
  const std::string after = read_text(out / "functions.svg");
  if (mounted) ::umount(small.c_str());
  INFO(r.out << (mounted ? "(tmpfs)" : "(file-size limit)"));
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("cannot write") && (Contains("No space left") || Contains("File too large")));
  CHECK_THAT(r.out, !Contains("std::"));
  REQUIRE_FALSE(before.empty());
  CHECK(after == before);
}
#endif

}  // namespace BEND_UNITY_ID
