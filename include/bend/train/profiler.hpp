#pragma once
// Where a training run's time goes: `bend train --profile`, `bend compare --profile`, `bend_bench
// --profile`. A TrainObserver that records while the Trainer runs (bend/profiler.hpp) and gives
//   - a table like torch.profiler's key_averages(): every op's forward and backward time, calls and
//     share, then the rest of the run (data, zero_grad, the optimizer, evaluation, ...), so the shares
//     add up to 100% of the profiled time;
//   - a Chrome trace (JSON) that Perfetto (ui.perfetto.dev, "Open trace file") and chrome://tracing
//     open: one track per thread (the pool's workers included), a span per step, per phase of a step,
//     per op's forward and backward, and per part a worker ran.
//
//   train::Profiler profiler(&my_observer);   // events go on to my_observer
//   trainer.run(&profiler);
//   profiler.finish();
//   fmt::print("{}", profiler.report().table());
//   profiler.write_trace("trace.json");
//
// Timing starts at on_start() and covers every step from its data to its bookkeeping, the evaluations and
// what follows them (checkpoints, logging) up to finish(). One Profiler at a time in a process, and one
// Trainer at a time under it (the spans are collected from every thread between phases).
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bend/profiler.hpp"
#include "bend/train/trainer.hpp"

namespace bend::train {

struct ProfilerOptions {
  std::int64_t max_steps = 0;      // profile the first N steps only (0: every step)
  std::int64_t trace_steps = 100;  // steps whose spans the trace keeps (the table counts every step)
};

struct OpProfile {
  std::string name;
  double forward_seconds = 0, backward_seconds = 0;
  std::int64_t forward_calls = 0, backward_calls = 0;
  double seconds() const { return forward_seconds + backward_seconds; }
};

// One row of the table besides the ops: a part of the run, its time and share.
struct PartProfile {
  std::string name;
  double seconds = 0;
};

struct ProfileReport {
  std::int64_t steps = 0;
  double total_seconds = 0;        // the sum of every row
  std::vector<OpProfile> ops;      // by time, longest first
  std::vector<PartProfile> parts;  // forward and backward outside the ops, optimizer, zero_grad, data, ...
  // The table: one row per op and per part, with its share of total_seconds.
  std::string table() const;
};

class Profiler : public TrainObserver {
 public:
  explicit Profiler(TrainObserver* next = nullptr, ProfilerOptions options = {});
  ~Profiler() override;
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  void on_start(Trainer& trainer) override;
  void on_step(const StepProgress& p) override;
  void on_epoch(const EpochMetrics& m) override;
  void on_checkpoint(const std::filesystem::path& path) override;
  void on_phase(StepPhase phase) override;

  // Ends the profiled time (idempotent; report() and write_trace() call it).
  void finish();
  ProfileReport report();
  // Writes the Chrome trace JSON (atomically).
  void write_trace(const std::filesystem::path& path);

 private:
  enum Part : int {
    kData,
    kZeroGrad,
    kForward,
    kBackward,
    kUpdate,
    kBookkeeping,
    kEvaluate,
    kOther,
    kParts,
    kNone
  };
  void enter(Part part);
  void collect(Part ended, bool keep);

  TrainObserver* next_;
  ProfilerOptions options_;
  bool recording_ = false, finished_ = false;
  Part current_ = kNone;
  std::int64_t part_begin_ = 0, step_begin_ = -1, start_ns_ = 0;
  std::int64_t steps_ = 0;
  bool step_has_forward_ = false;
  std::array<std::int64_t, kParts> part_ns_{};
  std::int64_t optimizer_in_backward_ns_ = 0;
  std::int64_t forward_ops_ns_ = 0, backward_ops_ns_ = 0;
  struct OpTotals {
    std::int64_t forward_ns = 0, backward_ns = 0, forward_calls = 0, backward_calls = 0;
  };
  std::map<std::string, OpTotals, std::less<>> ops_;
  // The trace: every thread's spans of the first options_.trace_steps steps.
  struct TraceThread {
    int worker = -1;
    std::vector<profiler::Span> spans;
  };
  std::map<int, TraceThread> trace_;
};

}  // namespace bend::train
