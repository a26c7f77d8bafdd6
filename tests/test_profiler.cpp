// The profiler (bend/profiler.hpp, bend/train/profiler.hpp): its table's shares add up to 100%, its
// Chrome trace is valid JSON whose spans nest on every thread, and each step's op spans fit inside the
// step and cover most of it; recording stops when it is off; the CLI's --profile flags.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bend/bend.hpp"
#include "bend/profiler.hpp"
#include "bend/train/profiler.hpp"
#include "requirements.hpp"
#include "run_command.hpp"
#include "scratch_files.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

namespace {

using namespace bend;

TensorDataset random_images(std::int64_t count, std::uint64_t seed) {
  Rng rng(seed);
  TensorDataset d;
  d.rows = 28;
  d.cols = 28;
  d.name = "random";
  d.images = Tensor::uniform(Shape{count, 784}, 0.0f, 1.0f, rng);
  for (std::int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  return d;
}

struct TraceSpan {
  std::string name, cat;
  std::int64_t begin = 0, end = 0;  // nanoseconds (the trace's microseconds have 3 decimals)
};

std::int64_t nanoseconds(const nlohmann::json& microseconds) {
  return static_cast<std::int64_t>(std::llround(microseconds.get<double>() * 1000.0));
}

// The "X" spans of each thread, parents before children; the threads' names.
std::map<int, std::vector<TraceSpan>> read_trace(const std::filesystem::path& path,
                                                 std::map<int, std::string>& thread_names) {
  const nlohmann::json trace = nlohmann::json::parse(bend::testing::read_text_file(path));
  REQUIRE(trace.at("traceEvents").is_array());
  std::map<int, std::vector<TraceSpan>> threads;
  for (const nlohmann::json& e : trace.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "M" && e.at("name") == "thread_name")
      thread_names[e.at("tid").get<int>()] = e.at("args").at("name").get<std::string>();
    if (ph != "X") continue;
    const std::int64_t begin = nanoseconds(e.at("ts"));
    threads[e.at("tid").get<int>()].push_back(
        {e.at("name"), e.at("cat"), begin, begin + nanoseconds(e.at("dur"))});
  }
  for (auto& [tid, spans] : threads)
    std::stable_sort(spans.begin(), spans.end(), [](const TraceSpan& a, const TraceSpan& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end - a.begin > b.end - b.begin;
    });
  return threads;
}

// Every span lies inside the span open around it or starts after it ends: no partial overlap.
void check_nesting(const std::vector<TraceSpan>& spans) {
  std::vector<const TraceSpan*> open;
  for (const TraceSpan& s : spans) {
    CHECK(s.end >= s.begin);
    while (!open.empty() && open.back()->end <= s.begin) open.pop_back();
    if (!open.empty()) {
      INFO(s.name << " [" << s.begin << ", " << s.end << "] in " << open.back()->name << " ["
                  << open.back()->begin << ", " << open.back()->end << "]");
      CHECK(s.end <= open.back()->end);
    }
    open.push_back(&s);
  }
}

}  // namespace

TEST_CASE("profiler: the table's shares add up to 100% and the trace's spans nest and fill the steps",
          "[profiler]") {
  bend::testing::ScratchDir dir("bend_test_profiler");
  train::TrainConfig config;
  config.batch = 64;
  config.epochs = 2;
  config.threads = 2;  // the pool's worker gets a track of its own
  config.schedule = "none";
  const TensorDataset train_data = random_images(256, 1), test_data = random_images(64, 2);
  train::Trainer trainer(config,
                         train::model_source(nn::ModelSpec::parse("784-256-128-10", "relu", "none", 0.0f),
                                             nn::init::Scheme::Torch),
                         train_data, test_data);
  train::Profiler profiler;
  trainer.run(&profiler);
  const train::ProfileReport report = profiler.report();
  CHECK_FALSE(profiler::active());

  CHECK(report.steps == 8);  // 2 epochs of 256 / 64
  double sum = 0;
  std::map<std::string, train::OpProfile> ops;
  for (const train::OpProfile& op : report.ops) {
    ops[op.name] = op;
    sum += op.seconds();
    CHECK(op.forward_seconds >= 0);
    CHECK(op.backward_seconds >= 0);
  }
  for (const train::PartProfile& p : report.parts) {
    INFO(p.name);
    CHECK(p.seconds >= 0);
    sum += p.seconds;
  }
  CHECK(sum == Approx(report.total_seconds).epsilon(1e-12));
  REQUIRE(ops.count("linear"));
  CHECK(ops["linear"].forward_calls == 3 * 8);
  CHECK(ops["linear"].backward_calls == 3 * 8);
  CHECK(ops["relu"].forward_calls == 2 * 8);
  CHECK(ops["cross_entropy"].forward_calls == 8);

  // The table's Share column adds up to 100% (each printed to 0.1%).
  const std::string table = report.table();
  INFO(table);
  std::istringstream lines(table);
  std::string line;
  double shares = 0;
  int rows = 0;
  while (std::getline(lines, line))
    if (line.size() > 1 && line.back() == '%' && !line.starts_with("total")) {
      shares += std::stod(line.substr(line.rfind(' ', line.size() - 2) + 1));
      ++rows;
    }
  CHECK(rows == static_cast<int>(report.ops.size() + report.parts.size()));
  CHECK(shares == Approx(100.0).margin(0.05 * rows + 0.1));

  const auto path = dir.path() / "trace.json";
  profiler.write_trace(path);
  std::map<int, std::string> names;
  const auto threads = read_trace(path, names);
  int main_tid = -1;
  for (const auto& [tid, name] : names) {
    if (name == "main") main_tid = tid;
  }
  REQUIRE(main_tid >= 0);
  CHECK(std::any_of(names.begin(), names.end(), [](const auto& n) { return n.second == "worker 1"; }));
  for (const auto& [tid, spans] : threads) {
    INFO("thread " << names[tid]);
    check_nesting(spans);
  }

  // Each step's op spans (forward, backward, the optimizer's updates during backward) fit in the step.
  const std::vector<TraceSpan>& spans = threads.at(main_tid);
  std::int64_t steps = 0, step_ns = 0, op_ns = 0;
  for (const TraceSpan& step : spans) {
    if (step.cat != "step") continue;
    ++steps;
    std::int64_t inside = 0;
    for (const TraceSpan& s : spans)
      if ((s.cat == "forward" || s.cat == "backward" || s.cat == "optimizer") && s.begin >= step.begin &&
          s.end <= step.end)
        inside += s.end - s.begin;
    CHECK(inside <= step.end - step.begin);
    step_ns += step.end - step.begin;
    op_ns += inside;
  }
  CHECK(steps == 8);
  // ... and cover most of the steps' time (the rest: the batch's copy, zero_grad, bookkeeping).
  CHECK(static_cast<double>(op_ns) >= 0.6 * static_cast<double>(step_ns));
}

TEST_CASE("profiler: off, nothing is recorded; --profile-steps stops after N steps", "[profiler]") {
  profiler::set_active(false);
  Rng rng(3);
  Tensor w = Tensor::uniform({4, 8}, -1, 1, rng).requires_grad_();
  Tensor loss = mean(linear(Tensor::uniform({2, 8}, -1, 1, rng), w, Tensor()));
  loss.backward();
  int spans = 0;
  profiler::drain([&](const profiler::ThreadSpans& t) { spans += static_cast<int>(t.spans.size()); });
  CHECK(spans == 0);

  train::TrainConfig config;
  config.batch = 32;
  config.epochs = 1;
  config.threads = 1;
  train::Trainer trainer(
      config,
      train::model_source(nn::ModelSpec::parse("784-16-10", "relu", "none", 0.0f), nn::init::Scheme::Torch),
      random_images(256, 3), random_images(32, 4));
  train::ProfilerOptions options;
  options.max_steps = 3;
  options.trace_steps = 3;
  train::Profiler profiler(nullptr, options);
  trainer.run(&profiler);
  const train::ProfileReport report = profiler.report();
  CHECK(report.steps == 3);
  CHECK(trainer.steps_done() == 8);
  CHECK_FALSE(profiler::active());
}

#ifdef BEND_CLI_PATH
TEST_CASE("bend train --profile prints the table and --profile-trace writes the trace", "[profiler][cli]") {
  const std::filesystem::path mnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(std::filesystem::exists(mnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + mnist.string(), "run data/fetch-mnist.sh"))
    return;
  bend::testing::ScratchDir dir("bend_test_profiler_cli");
  const auto trace = dir.path() / "trace.json";
  const std::string cli = BEND_CLI_PATH;
  const auto r = bend::testing::run_command(
      cli + " train --data-dir " + mnist.string() +
      " --arch 784-32-10 --epochs 1 --train-limit 640 --test-limit 100 " + "--threads 1 --checkpoint-dir " +
      (dir.path() / "ck").string() + " --profile --profile-trace " + trace.string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("profile: 10 steps") && Catch::Contains("Share") &&
                        Catch::Contains("linear") && Catch::Contains("[optimizer]") &&
                        Catch::Contains("[evaluation]") && Catch::Contains("trace written to"));
  std::map<int, std::string> names;
  const auto threads = read_trace(trace, names);
  CHECK_FALSE(threads.empty());

  const auto bad = bend::testing::run_command(cli + " train --profile-steps 0 --profile");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.out, Catch::Contains("--profile-steps must be positive"));

  const auto text = dir.path() / "small.txt";
  std::string words;
  for (int i = 0; i < 200; ++i) words += "the quick brown fox jumps over the lazy dog. ";
  bend::testing::ScratchDir gpt_dir("bend_test_profiler_gpt");
  { std::ofstream(text) << words; }
  const auto gpt = bend::testing::run_command(cli + " train --model gpt --text " + text.string() +
                                              " --steps 6 --n-layer 1 --n-head 2 --n-embd 16 --block-size 16 "
                                              "--batch 4 --eval-iters 2 --eval-interval 5 "
                                              "--warmup-iters 2 --threads 1 --profile --checkpoint-dir " +
                                              (gpt_dir.path() / "ck").string());
  INFO(gpt.out);
  REQUIRE(gpt.code == 0);
  CHECK_THAT(gpt.out, Catch::Contains("profile: 6 steps") &&
                          Catch::Contains("packed_self_attention") && Catch::Contains("layer_norm") &&
                          Catch::Contains("[evaluation]"));
}
#endif

}  // namespace BEND_UNITY_ID
