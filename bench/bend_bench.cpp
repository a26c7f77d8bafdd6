// bend_bench: bend's side of the "faster than PyTorch on a CPU" benchmark (bench/run.sh runs it against
// bench/torch_mlp.py with the same settings).
//
// Trains an MLP (default 784-256-128-10) on MNIST with bend::train::Trainer, timing each phase of every
// step through the Trainer's observer hooks (data / zero_grad / forward / backward / optimizer / other,
// summed per epoch), and prints per epoch: time, steps/s, samples/s, the phase breakdown and test
// accuracy; at the end: peak RSS, bend::memory_stats(), and the GEMM floor — the measured sgemm time of
// one step's matrix products at this batch size times the steps in an epoch, the time an epoch would
// take if everything but sgemm were free.
//
//   bend_bench [--act relu] [--opt adam|sgd] [--batch 64] [--epochs 3] [--threads 0] [--json]
//   bend_bench --activations [--act-elements 16777216]   # activation kernel microbenchmark only
//
// --threads is bend's thread count (bend/parallel.hpp; OpenBLAS itself runs single-threaded inside
// bend's parts); 0 means bend::default_num_threads(), what `bend train` uses. With --json every line is one
// JSON object (one per epoch, then a summary with "summary": true), with the same keys as torch_mlp.py's
// where they mean the same thing.
#include <cblas.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "../src/ops/gemm.hpp"  // detail::gemm, to time bend's split products for the floor
#include "bend/activations.hpp"
#include "bend/autograd.hpp"
#include "bend/data/loader.hpp"
#include "bend/data/registry.hpp"
#include "bend/denormal.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/nn/model_presets.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/sgd.hpp"
#include "bend/parallel.hpp"
#include "bend/rng.hpp"
#include "bend/train/metrics.hpp"
#include "bend/train/profiler.hpp"
#include "bend/train/trainer.hpp"

namespace bend::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct BenchOptions {
  std::string arch = "784-256-128-10";
  std::string act = "relu";
  std::string opt = "adam";
  std::optional<double> lr;  // default: 1e-3 for Adam, 0.01 for SGD (as torch_mlp.py)
  double momentum = 0.0;
  std::int64_t batch = 64;
  std::int64_t epochs = 3;
  int threads = 0;  // bend's threads; 0: bend::default_num_threads()
  std::uint64_t seed = 0;
  std::int64_t warmup_steps = 50;
  int gemm_min_calls = 0;  // 0: time each GEMM shape for ~30 ms; >0: exactly this many calls (tests)
  bool measure_gemm = true;
  bool flush_denormal = false;     // bend::set_flush_denormal for the run
  bool update_in_backward = true;  // TrainConfig::update_in_backward
  bool profile = false;            // train::Profiler over the timed run: its table in TrainRun
  std::string profile_trace;       // and its Chrome trace here (non-empty: implies profile)
  std::int64_t profile_steps = 0;  // profile the first N steps only (0: all)
};

// Seconds spent in each part of a step, summed over an epoch.
struct PhaseTimes {
  double data = 0;       // loader.next(): shuffled gather into the batch buffer
  double forward = 0;    // model(x) and the loss
  double backward = 0;   // loss.backward() (and the updates made during it, unless --step-after-backward)
  double zero_grad = 0;  // optimizer.zero_grad(): clearing the parameters' gradients
  double optimizer = 0;  // optimizer.step() (0 when the parameters are updated during backward)
  double other = 0;      // argmax and accuracy/loss bookkeeping
  double sum() const { return data + forward + backward + zero_grad + optimizer + other; }
};

struct EpochReport {
  std::int64_t epoch = 0;
  std::int64_t steps = 0;  // steps in this epoch
  double seconds = 0;      // wall time of the epoch's training loop (no evaluation)
  double cpu_seconds = 0;  // the process's CPU time (all threads) over the same steps
  PhaseTimes phases;
  double train_loss = 0;
  double train_accuracy = 0;
  double test_accuracy = 0;
};

// One matrix product of a training step: C[M,N] = op(A)·op(B) as the library issues it, timed three
// ways at the run's thread count T: one cblas_sgemm on one thread, one cblas_sgemm with OpenBLAS's own
// T threads, and bend's split (src/ops/gemm.cpp: one single-threaded sgemm per block, on bend's pool).
// The floor takes the fastest of the three for each shape.
struct GemmShape {
  std::string role;  // "fwd L1" (X·W1ᵀ), "dW L1" (dYᵀ·X), "dX L2" (dY·W2)
  std::int64_t m = 0, n = 0, k = 0;
  bool transpose_a = false, transpose_b = false;
  double seconds_per_call = 0;  // the fastest of the three below
  double blas_one_thread_seconds = 0, blas_threads_seconds = 0, bend_split_seconds = 0;
  double flops() const {
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  }
  double gflops() const { return seconds_per_call > 0 ? flops() / seconds_per_call * 1e-9 : 0.0; }
};

struct GemmFloor {
  std::vector<GemmShape> shapes;
  double step_seconds = 0;   // all of one step's products
  double epoch_seconds = 0;  // step_seconds * samples / batch
  // The peak floor, which does not depend on how the products are split: the step's FLOPs at the rate
  // of one large single-threaded sgemm (peak_one_thread_gflops) times the threads used.
  double peak_one_thread_gflops = 0;
  double peak_epoch_seconds = 0;
  double step_flops() const {
    double f = 0;
    for (const GemmShape& s : shapes) f += s.flops();
    return f;
  }
  double gflops() const { return step_seconds > 0 ? step_flops() / step_seconds * 1e-9 : 0.0; }
};

// The products of one step of an MLP with these layer sizes at this batch size, as src/ops/linear.cpp
// issues them: forward X·Wᵀ per layer, dW = dYᵀ·X per layer, dX = dY·W for layers 2.. only (the
// input needs no gradient).
std::vector<GemmShape> step_gemm_shapes(const std::vector<std::int64_t>& sizes, std::int64_t batch) {
  std::vector<GemmShape> shapes;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::int64_t in = sizes[l], out = sizes[l + 1];
    const std::string layer = std::to_string(l + 1);
    shapes.push_back({"fwd L" + layer, batch, out, in, false, true, 0});
    shapes.push_back({"dW L" + layer, out, in, batch, true, false, 0});
    if (l > 0) shapes.push_back({"dX L" + layer, batch, in, out, false, false, 0});
  }
  return shapes;
}

enum class GemmMethod { BlasOneThread, BlasThreads, BendSplit };

// Times one shape by one method at `threads` threads: the best of three rounds, each long enough
// (~30 ms, or exactly min_calls calls when given) to average out the clock. beta = 1 as in the library
// (bias rows / gradient accumulation).
double time_gemm(const GemmShape& s, GemmMethod method, int threads, int min_calls) {
  const std::int64_t a_elems = s.m * s.k, b_elems = s.k * s.n, c_elems = s.m * s.n;
  std::vector<float> a(static_cast<std::size_t>(a_elems)), b(static_cast<std::size_t>(b_elems)),
      c(static_cast<std::size_t>(c_elems), 0.0f);
  Rng rng(1);
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b) v = rng.uniform(-1.0f, 1.0f);
  const auto lda = static_cast<blasint>(s.transpose_a ? s.m : s.k);
  const auto ldb = static_cast<blasint>(s.transpose_b ? s.k : s.n);
  const auto call = [&] {
    if (method == GemmMethod::BendSplit)
      detail::gemm(s.transpose_a, s.transpose_b, s.m, s.n, s.k, 1.0f, a.data(), b.data(), 1.0f, c.data());
    else
      cblas_sgemm(CblasRowMajor, s.transpose_a ? CblasTrans : CblasNoTrans,
                  s.transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(s.m),
                  static_cast<blasint>(s.n), static_cast<blasint>(s.k), 1.0f, a.data(), lda, b.data(), ldb,
                  1.0f, c.data(), static_cast<blasint>(s.n));
  };
  set_num_threads(threads);  // bend's pool; this also sets OpenBLAS to one thread
  if (method == GemmMethod::BlasThreads) openblas_set_num_threads(threads);
  for (int i = 0; i < 3; ++i) call();  // warm caches and the threads
  std::int64_t calls = min_calls;
  if (calls <= 0) {
    const auto start = Clock::now();
    call();
    const double one = std::max(1e-7, seconds_between(start, Clock::now()));
    calls = std::clamp<std::int64_t>(static_cast<std::int64_t>(0.03 / one), 3, 100000);
  }
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < calls; ++i) call();
    best = std::min(best, seconds_between(start, Clock::now()) / static_cast<double>(calls));
  }
  openblas_set_num_threads(1);
  return best;
}

// The machine's sgemm peak on one core: C[n,n] += A[n,n]·B[n,n] with n = 2048 on one thread, the best
// of three calls (each ~0.2 s at 100 GFLOP/s), in GFLOP/s.
double measure_peak_sgemm_gflops(std::int64_t n = 2048) {
  GemmShape big{"peak", n, n, n, false, false, 0};
  return big.flops() / time_gemm(big, GemmMethod::BlasOneThread, 1, 1) * 1e-9;
}

GemmFloor measure_gemm_floor(const std::vector<std::int64_t>& sizes, std::int64_t batch, std::int64_t samples,
                             int threads, int min_calls = 0) {
  GemmFloor floor;
  floor.shapes = step_gemm_shapes(sizes, batch);
  for (GemmShape& s : floor.shapes) {
    s.blas_one_thread_seconds = time_gemm(s, GemmMethod::BlasOneThread, threads, min_calls);
    s.blas_threads_seconds = time_gemm(s, GemmMethod::BlasThreads, threads, min_calls);
    s.bend_split_seconds = time_gemm(s, GemmMethod::BendSplit, threads, min_calls);
    s.seconds_per_call = std::min({s.blas_one_thread_seconds, s.blas_threads_seconds, s.bend_split_seconds});
    floor.step_seconds += s.seconds_per_call;
  }
  set_num_threads(threads);
  floor.epoch_seconds = floor.step_seconds * static_cast<double>(samples) / static_cast<double>(batch);
  floor.peak_one_thread_gflops = measure_peak_sgemm_gflops();
  set_num_threads(threads);
  floor.peak_epoch_seconds = floor.step_flops() * static_cast<double>(samples) / static_cast<double>(batch) /
                             (floor.peak_one_thread_gflops * 1e9 * threads);
  return floor;
}

// The optimizer's own floor: the bytes its update moves per step at the bandwidth this machine reaches on a
// working set of that size with bend's threads. Adam reads each parameter, its gradient and both moments
// and writes the parameter and the moments (28 bytes per parameter); SGD reads the parameter and gradient
// and writes the parameter (12), plus the momentum buffer's read and write (20). The bandwidth comes from a
// read-add-write loop (y += x, 12 bytes per element) over the same number of bytes, split like bend's
// elementwise loops, the best of several timed rounds.
struct OptimizerFloor {
  std::int64_t parameters = 0;
  double bytes_per_step = 0;
  double gbps = 0;  // measured
  double epoch_seconds = 0;
};

OptimizerFloor measure_optimizer_floor(const std::vector<std::int64_t>& sizes, const std::string& opt,
                                       double momentum, std::int64_t batch, std::int64_t samples,
                                       int threads) {
  OptimizerFloor f;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) f.parameters += sizes[l] * sizes[l + 1] + sizes[l + 1];
  const double bytes_per_parameter = opt == "sgd" ? (momentum != 0.0 ? 20.0 : 12.0) : 28.0;
  f.bytes_per_step = bytes_per_parameter * static_cast<double>(f.parameters);
  const auto n = static_cast<std::int64_t>(f.bytes_per_step / 12.0);
  std::vector<float> x(static_cast<std::size_t>(n), 1e-3f), y(static_cast<std::size_t>(n), 0.0f);
  set_num_threads(threads);
  const auto pass = [&] {
    parallel_for(threads, [&](int part, int parts) {
      const auto [begin, end] = split_range(n, part, parts);
      float* __restrict yp = y.data();
      const float* __restrict xp = x.data();
      for (std::int64_t i = begin; i < end; ++i) yp[i] += xp[i];
    });
  };
  for (int k = 0; k < 3; ++k) pass();
  double best = 1e30;
  for (int round = 0; round < 7; ++round) {
    const int calls = 20;
    const auto start = Clock::now();
    for (int k = 0; k < calls; ++k) pass();
    best = std::min(best, seconds_between(start, Clock::now()) / calls);
  }
  f.gbps = 12.0 * static_cast<double>(n) / best * 1e-9;
  f.epoch_seconds =
      f.bytes_per_step / (f.gbps * 1e9) * static_cast<double>(samples) / static_cast<double>(batch);
  if (y[0] < 0) std::puts("");  // (keeps the loop's result alive)
  return f;
}

// Forward and backward throughput of one activation-table kernel.
struct ActivationRate {
  std::string name;
  double forward_gbps = 0, backward_gbps = 0;            // over `elements` floats (streams from memory)
  double forward_ns = 0, backward_ns = 0;                // per element, same
  double cached_forward_ns = 0, cached_backward_ns = 0;  // per element over `cached_elements` (in cache)
};

namespace {
// Best time of `rounds` runs of fn.
template <class Fn>
double best_seconds(int rounds, Fn&& fn) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    fn();
    best = std::min(best, seconds_between(start, Clock::now()));
  }
  return best;
}
}  // namespace

// Runs every table kernel forward (reads x, writes y: 8 bytes/element) and backward (reads x, y, gy,
// reads and writes gx: 20 bytes/element) over `elements` floats, and over `cached_elements` floats
// (a hidden layer's activations at the benchmark's batch size, which stay in cache) many times.
std::vector<ActivationRate> measure_activations(std::int64_t elements, std::int64_t cached_elements,
                                                int rounds = 3) {
  const auto n = static_cast<std::size_t>(elements);
  std::vector<float> x(n), y(n), gy(n), gx(n, 0.0f);
  Rng rng(2);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = rng.uniform(-6.0f, 6.0f);  // both tails and the middle: no branch-friendly data
    gy[i] = rng.uniform(-1.0f, 1.0f);
  }
  const std::int64_t small = std::min(cached_elements, elements);
  const std::int64_t repeats = std::max<std::int64_t>(1, elements / std::max<std::int64_t>(1, small));
  std::vector<ActivationRate> rates;
  for (const ActivationInfo& info : activation_table()) {
    const PointwiseKernel& k = info.kernel;
    const PointwiseParams p = info.defaults;
    ActivationRate r;
    r.name = std::string(info.name);
    k.forward(x.data(), y.data(), elements, p);  // touch the pages once
    const double fwd = best_seconds(rounds, [&] { k.forward(x.data(), y.data(), elements, p); });
    const double bwd =
        best_seconds(rounds, [&] { k.backward(x.data(), y.data(), gy.data(), gx.data(), elements, p); });
    const double count = static_cast<double>(elements);
    r.forward_gbps = 8.0 * count / fwd * 1e-9;
    r.backward_gbps = 20.0 * count / bwd * 1e-9;
    r.forward_ns = fwd / count * 1e9;
    r.backward_ns = bwd / count * 1e9;
    const double cached_count = static_cast<double>(small * repeats);
    const double cfwd = best_seconds(rounds, [&] {
      for (std::int64_t i = 0; i < repeats; ++i) k.forward(x.data(), y.data(), small, p);
    });
    const double cbwd = best_seconds(rounds, [&] {
      for (std::int64_t i = 0; i < repeats; ++i)
        k.backward(x.data(), y.data(), gy.data(), gx.data(), small, p);
    });
    r.cached_forward_ns = cfwd / cached_count * 1e9;
    r.cached_backward_ns = cbwd / cached_count * 1e9;
    rates.push_back(r);
  }
  return rates;
}

// How well this machine runs its threads at once: the time of a single-threaded sgemm (the batch-64
// first-layer product, 64x256x784) on one thread alone, and on every one of `threads` threads at the
// same time, each with its own data. On a machine whose cores are shared with other guests (or slow
// down together), the concurrent time is higher and every multi-threaded figure suffers with it.
struct CoreCheck {
  int threads = 1;
  double solo_us = 0;
  double concurrent_us = 0;  // the slowest thread's time per call
  double efficiency() const { return concurrent_us > 0 ? solo_us / concurrent_us : 0.0; }
};

CoreCheck measure_core_check(int threads, int calls = 400) {
  constexpr std::int64_t m = 64, n = 256, k = 784;
  struct Operands {
    std::vector<float> a = std::vector<float>(m * k, 0.5f), b = std::vector<float>(n * k, 0.25f),
                       c = std::vector<float>(m * n, 0.0f);
    void multiply() {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k, 1.0f,
                  c.data(), n);
    }
  };
  set_num_threads(threads);  // 0: the default
  const auto count = static_cast<std::size_t>(num_threads());
  std::vector<Operands> operands(count);
  std::vector<double> seconds(count, 0.0);
  const auto run = [&](int parts) {
    parallel_for(parts, [&](int part, int) {
      Operands& o = operands[static_cast<std::size_t>(part)];
      for (int i = 0; i < 10; ++i) o.multiply();  // warm up
      const auto start = Clock::now();
      for (int i = 0; i < calls; ++i) o.multiply();
      seconds[static_cast<std::size_t>(part)] = seconds_between(start, Clock::now()) / calls;
    });
  };
  CoreCheck check;
  check.threads = num_threads();
  run(1);
  check.solo_us = seconds[0] * 1e6;
  run(check.threads);
  check.concurrent_us = *std::max_element(seconds.begin(), seconds.end()) * 1e6;
  return check;
}

// Peak resident set size of this process so far, in MiB (Linux reports KiB).
double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

struct TrainRun {
  std::vector<EpochReport> epochs;
  int threads = 0;
  std::int64_t train_samples = 0;
  MemoryStats memory;
  std::string profile_table;  // --profile: the profiler's table
};

namespace {

// CPU time of the whole process (every thread), for figures that a loaded machine distorts less than
// wall time.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Times the parts of every step through the Trainer's phase marks (TrainObserver::on_phase). Each
// mark ends the previous part; the data part is what remains of the epoch's training time, so the
// evaluation after an epoch is never counted.
class PhaseTimer : public train::TrainObserver {
 public:
  PhaseTimer(TrainRun& run, const std::function<void(const EpochReport&)>& callback)
      : run_(run), callback_(callback) {}

  void on_phase(train::StepPhase phase) override {
    const auto now = Clock::now();
    const double cpu_now = process_cpu_seconds();
    if (timing_) {
      cpu_ += cpu_now - last_cpu_;
      const double elapsed = seconds_between(last_, now);
      switch (current_) {
        case train::StepPhase::ZeroGrad:
          times_.zero_grad += elapsed;
          break;
        case train::StepPhase::Forward:
          times_.forward += elapsed;
          break;
        case train::StepPhase::Backward:
          times_.backward += elapsed;
          break;
        case train::StepPhase::Update:
          times_.optimizer += elapsed;
          break;
        case train::StepPhase::Bookkeeping:
          times_.other += elapsed;
          break;
        case train::StepPhase::Data:
        case train::StepPhase::Evaluate:
          break;  // the remainder, below (evaluation is not counted)
      }
    }
    timing_ = true;
    current_ = phase;
    last_ = now;
    last_cpu_ = cpu_now;
  }

  void on_epoch(const train::EpochMetrics& m) override {
    EpochReport r;
    r.epoch = m.epoch;
    r.steps = m.steps - last_steps_;
    last_steps_ = m.steps;
    r.seconds = m.seconds;
    r.cpu_seconds = cpu_;
    r.train_loss = m.train_loss;
    r.train_accuracy = m.train_accuracy;
    r.test_accuracy = m.test_accuracy;
    r.phases = times_;
    r.phases.data = std::max(0.0, m.seconds - (times_.sum() - times_.data));
    run_.epochs.push_back(r);
    if (callback_) callback_(r);
    times_ = {};
    cpu_ = 0;
    timing_ = false;  // the next epoch's first mark starts afresh
  }

 private:
  TrainRun& run_;
  const std::function<void(const EpochReport&)>& callback_;
  PhaseTimes times_;
  train::StepPhase current_ = train::StepPhase::Data;
  Clock::time_point last_{};
  double last_cpu_ = 0, cpu_ = 0;
  bool timing_ = false;
  std::int64_t last_steps_ = 0;
};

train::TrainConfig bench_config(const BenchOptions& o) {
  train::TrainConfig config;
  config.optimizer = o.opt;
  if (o.lr) config.optimizer_options["lr"] = *o.lr;
  config.schedule = "none";  // a constant rate, as torch_mlp.py
  if (o.momentum != 0.0) config.optimizer_options["momentum"] = o.momentum;
  config.batch = o.batch;
  config.epochs = o.epochs;
  config.threads = o.threads;
  config.flush_denormal = o.flush_denormal;
  config.update_in_backward = o.update_in_backward;
  config.seed = o.seed;
  return config;
}

}  // namespace

// The model of --arch (any spec: an MLP "784-256-128-10" or a CNN "c6k5p2-p2-...", on MNIST's 1x28x28
// samples) with --act.
nn::ModelSpec bench_model_spec(const BenchOptions& o) {
  const nn::SampleShape mnist_sample = {1, 28, 28};
  return nn::ModelSpec::parse(o.arch, o.act, "none", 0.0f, &mnist_sample);
}

// The layer sizes of a dense-only spec (for the GEMM floor, which knows only dense layers); empty
// otherwise.
std::vector<std::int64_t> mlp_sizes(const BenchOptions& o) {
  const nn::ModelSpec spec = bench_model_spec(o);
  if (spec.input.size() != 1) return {};
  std::vector<std::int64_t> sizes = spec.input;
  for (const nn::LayerSpec& layer : spec.arch) {
    if (layer.kind != "dense") return {};
    sizes.push_back(layer.whole("features"));
  }
  return sizes;
}

// Trains with bend::train::Trainer (what `bend train` runs: PyTorch's default init, as torch_mlp.py),
// timing each part of every step through the observer's phase marks; calls on_epoch after each epoch
// (evaluation is not timed). Warm-up steps run first on a throwaway model (same init), as torch_mlp.py
// does.
TrainRun run_training(const BenchOptions& o, const TensorDataset& train_data, const TensorDataset& test_data,
                      const std::function<void(const EpochReport&)>& on_epoch = {}) {
  const train::ModelSource source = train::model_source(bench_model_spec(o), nn::init::Scheme::Torch);
  if (o.warmup_steps > 0) {
    train::TrainConfig warmup = bench_config(o);
    warmup.max_steps = o.warmup_steps;
    warmup.test_limit = 1;  // the partial epoch's evaluation is not what is measured
    train::Trainer(warmup, source, train_data, test_data).run();
  }
  TrainRun run;
  run.train_samples = train_data.size();
  train::Trainer trainer(bench_config(o), source, train_data, test_data);
  PhaseTimer timer(run, on_epoch);
  if (o.profile || !o.profile_trace.empty()) {
    train::ProfilerOptions options;
    if (o.profile_steps > 0) options.max_steps = options.trace_steps = o.profile_steps;
    train::Profiler profiler(&timer, options);
    trainer.run(&profiler);
    run.profile_table = profiler.report().table();
    if (!o.profile_trace.empty()) profiler.write_trace(o.profile_trace);
  } else {
    trainer.run(&timer);
  }
  run.threads = num_threads();
  run.memory = memory_stats();
  return run;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

nlohmann::json epoch_json(const EpochReport& r, std::int64_t samples) {
  return {{"epoch", r.epoch},
          {"seconds", r.seconds},
          {"cpu_seconds", r.cpu_seconds},
          {"steps", r.steps},
          {"steps_per_s", r.seconds > 0 ? static_cast<double>(r.steps) / r.seconds : 0.0},
          {"samples_per_s", r.seconds > 0 ? static_cast<double>(samples) / r.seconds : 0.0},
          {"train_loss", r.train_loss},
          {"test_accuracy", r.test_accuracy},
          {"phases",
           {{"data", r.phases.data},
            {"forward", r.phases.forward},
            {"backward", r.phases.backward},
            {"zero_grad", r.phases.zero_grad},
            {"optimizer", r.phases.optimizer},
            {"other", r.phases.other}}}};
}

nlohmann::json gemm_json(const GemmFloor& g) {
  nlohmann::json shapes = nlohmann::json::array();
  for (const GemmShape& s : g.shapes)
    shapes.push_back({{"role", s.role},
                      {"m", s.m},
                      {"n", s.n},
                      {"k", s.k},
                      {"us", s.seconds_per_call * 1e6},
                      {"blas_one_thread_us", s.blas_one_thread_seconds * 1e6},
                      {"blas_threads_us", s.blas_threads_seconds * 1e6},
                      {"bend_split_us", s.bend_split_seconds * 1e6},
                      {"gflops", s.gflops()}});
  return {{"step_us", g.step_seconds * 1e6},
          {"epoch_seconds", g.epoch_seconds},
          {"gflops", g.gflops()},
          {"step_gflop", g.step_flops() * 1e-9},
          {"peak_one_thread_gflops", g.peak_one_thread_gflops},
          {"peak_epoch_seconds", g.peak_epoch_seconds},
          {"shapes", shapes}};
}

std::string blas_description() {
  const char* config = openblas_get_config();
  const char* core = openblas_get_corename();
  return fmt::format("{} (core {})", config ? config : "?", core ? core : "?");
}

int bench_main(int argc, char** argv) {
  cxxopts::Options cli("bend_bench", "bend's side of the MLP speed benchmark (see bench/README.md)");
  // clang-format off
  cli.add_options()
    ("data-dir", "directory with the MNIST IDX files", cxxopts::value<std::string>()->default_value(""))
    ("arch", "the model: layer sizes, or any --arch spec of bend train (e.g. a CNN)", cxxopts::value<std::string>()->default_value("784-256-128-10"))
    ("model", "a preset model of bend train (" + nn::model_preset_names() + "); replaces --arch", cxxopts::value<std::string>())
    ("describe", "print the model's layers as bend.layers describes them (for bench/torch_mlp.py --layers) and exit")
    ("act", "hidden activation (a table name)", cxxopts::value<std::string>()->default_value("relu"))
    ("opt", "optimizer: " + optim::optimizer_names(), cxxopts::value<std::string>()->default_value("adam"))
    ("lr", "learning rate (default 1e-3 Adam, 0.01 SGD)", cxxopts::value<double>())
    ("momentum", "SGD momentum", cxxopts::value<double>()->default_value("0"))
    ("batch", "batch size", cxxopts::value<std::int64_t>()->default_value("64"))
    ("epochs", "timed epochs", cxxopts::value<std::int64_t>()->default_value("3"))
    ("threads", "bend's threads (0: bend::default_num_threads())", cxxopts::value<int>()->default_value("0"))
    ("seed", "seed", cxxopts::value<std::uint64_t>()->default_value("0"))
    ("warmup-steps", "untimed steps on a throwaway model copy", cxxopts::value<std::int64_t>()->default_value("50"))
    ("train-limit", "use only the first N training images (0: all)", cxxopts::value<std::int64_t>()->default_value("0"))
    ("test-limit", "evaluate on only the first N test images (0: all; for profiling the steps)",
     cxxopts::value<std::int64_t>()->default_value("0"))
    ("no-gemm", "skip the GEMM floor measurement")
    ("flush-denormal", "treat floats below 1.2e-38 as zero (bend::set_flush_denormal)")
    ("step-after-backward", "step in a separate pass after backward (PyTorch's loop) instead of updating "
     "each parameter during backward as soon as its gradient is final")
    ("activations", "run only the activation kernel microbenchmark")
    ("core-check", "run only the check of how the machine's cores run together (sgemm alone vs on all threads)")
    ("act-elements", "elements for the activation microbenchmark", cxxopts::value<std::int64_t>()->default_value("16777216"))
    ("profile", "print where the time of the timed epochs went (bend train --profile's table)")
    ("profile-trace", "write a Chrome trace JSON of the timed epochs to FILE (ui.perfetto.dev); implies --profile", cxxopts::value<std::string>())
    ("profile-steps", "profile the first N steps only", cxxopts::value<std::int64_t>()->default_value("0"))
    ("json", "JSON lines output")
    ("h,help", "this help");
  // clang-format on
  const auto args = cli.parse(argc, argv);
  if (args.count("help")) {
    fmt::print("{}", cli.help());
    return 0;
  }
  const bool json = args.count("json") > 0;
  const auto emit = [&](const nlohmann::json& record, const std::string& human) {
    fmt::print("{}\n", json ? record.dump() : human);
    std::fflush(stdout);
  };

  BenchOptions o;
  o.arch = args["arch"].as<std::string>();
  if (args.count("model")) {
    const nn::ModelPreset* preset = nn::find_model_preset(args["model"].as<std::string>());
    if (!preset)
      throw ValueError(fmt::format("--model '{}': no such preset ({})", args["model"].as<std::string>(),
                                   nn::model_preset_names()));
    o.arch = preset->arch({1, 28, 28}, 10);
  }
  o.act = args["act"].as<std::string>();
  o.opt = args["opt"].as<std::string>();
  if (args.count("lr")) o.lr = args["lr"].as<double>();
  o.momentum = args["momentum"].as<double>();
  o.batch = args["batch"].as<std::int64_t>();
  o.epochs = args["epochs"].as<std::int64_t>();
  o.threads = args["threads"].as<int>();
  o.seed = args["seed"].as<std::uint64_t>();
  o.warmup_steps = args["warmup-steps"].as<std::int64_t>();
  o.measure_gemm = args.count("no-gemm") == 0;
  o.flush_denormal = args.count("flush-denormal") > 0;
  o.update_in_backward = args.count("step-after-backward") == 0;
  o.profile = args.count("profile") > 0;
  if (args.count("profile-trace")) o.profile_trace = args["profile-trace"].as<std::string>();
  o.profile_steps = args["profile-steps"].as<std::int64_t>();
  if (o.batch <= 0 || o.epochs <= 0) throw ValueError("--batch and --epochs must be positive");

  if (args.count("describe")) {
    fmt::print("{}\n", bench_model_spec(o).layers_string());
    return 0;
  }
  if (args.count("core-check")) {
    const CoreCheck check = measure_core_check(o.threads);
    emit({{"core_check", true},
          {"threads", check.threads},
          {"solo_us", check.solo_us},
          {"concurrent_us", check.concurrent_us},
          {"efficiency", check.efficiency()}},
         fmt::format("sgemm 64x256x784 on one thread alone: {:.1f} us; on all {} threads at once: {:.1f} us "
                     "(the slowest); each thread runs at {:.0f}% of its solo speed",
                     check.solo_us, check.threads, check.concurrent_us, 100 * check.efficiency()));
    return 0;
  }
  if (args.count("activations")) {
    set_num_threads(1);  // per-kernel speed on one core
    const std::int64_t elements = args["act-elements"].as<std::int64_t>();
    const auto rates = measure_activations(elements, o.batch * 256);
    const ActivationRate* relu = nullptr;
    for (const ActivationRate& r : rates)
      if (r.name == "relu") relu = &r;
    if (!json)
      fmt::print("{:<14} {:>9} {:>9} {:>9} {:>9}   {:>10} {:>10}  (x relu, in cache fwd+bwd)\n", "activation",
                 "fwd GB/s", "bwd GB/s", "fwd ns/el", "bwd ns/el", "cache fwd", "cache bwd");
    for (const ActivationRate& r : rates) {
      const double vs_relu = relu ? (r.cached_forward_ns + r.cached_backward_ns) /
                                        (relu->cached_forward_ns + relu->cached_backward_ns)
                                  : 0.0;
      emit({{"activation", r.name},
            {"elements", elements},
            {"forward_gbps", r.forward_gbps},
            {"backward_gbps", r.backward_gbps},
            {"forward_ns", r.forward_ns},
            {"backward_ns", r.backward_ns},
            {"cached_elements", o.batch * 256},
            {"cached_forward_ns", r.cached_forward_ns},
            {"cached_backward_ns", r.cached_backward_ns},
            {"cached_vs_relu", vs_relu}},
           fmt::format("{:<14} {:9.2f} {:9.2f} {:9.3f} {:9.3f}   {:10.3f} {:10.3f}  {:5.2f}x", r.name,
                       r.forward_gbps, r.backward_gbps, r.forward_ns, r.backward_ns, r.cached_forward_ns,
                       r.cached_backward_ns, vs_relu));
    }
    return 0;
  }

  const std::string dir = args["data-dir"].as<std::string>();
  TensorDataset train_data = load_dataset("mnist", dir, Split::Train);
  TensorDataset test_data = load_dataset("mnist", dir, Split::Test);
  const std::int64_t test_limit = args["test-limit"].as<std::int64_t>();
  if (test_limit > 0 && test_limit < test_data.size()) test_data = subset(test_data, 0, test_limit);
  const std::int64_t limit = args["train-limit"].as<std::int64_t>();
  if (limit > 0 && limit < train_data.size()) train_data = subset(train_data, 0, limit);
  const std::int64_t samples = train_data.size();

  const auto on_epoch = [&](const EpochReport& r) {
    const PhaseTimes& p = r.phases;
    const std::string phases =
        fmt::format("  [data {:.3f} fwd {:.3f} bwd {:.3f} zero_grad {:.3f} step {:.3f} other {:.3f}]", p.data,
                    p.forward, p.backward, p.zero_grad, p.optimizer, p.other);
    emit(epoch_json(r, samples),
         fmt::format(
             "epoch {:3d}  {:7.3f} s  {:7.0f} steps/s  {:8.0f} samples/s  loss {:.4f}  test acc {:.2f}%{}",
             r.epoch, r.seconds, static_cast<double>(r.steps) / r.seconds,
             static_cast<double>(samples) / r.seconds, r.train_loss, 100 * r.test_accuracy, phases));
  };
  const TrainRun run = run_training(o, train_data, test_data, on_epoch);
  if (!run.profile_table.empty()) std::fputs(run.profile_table.c_str(), json ? stderr : stdout);

  std::optional<GemmFloor> floor;
  std::optional<OptimizerFloor> optimizer_floor;
  if (o.measure_gemm)
    if (const auto sizes = mlp_sizes(o); !sizes.empty()) {
      floor = measure_gemm_floor(sizes, o.batch, samples, run.threads);
      optimizer_floor = measure_optimizer_floor(sizes, o.opt, o.momentum, o.batch, samples, run.threads);
    }

  std::vector<double> seconds;
  for (const EpochReport& r : run.epochs) seconds.push_back(r.seconds);
  const double median_seconds = median(seconds);
  const double final_accuracy = run.epochs.empty() ? 0.0 : run.epochs.back().test_accuracy;
  const double rss = peak_rss_mib();
  nlohmann::json summary = {
      {"summary", true},
      {"framework", "bend"},
      {"mode", "trainer"},
      {"arch", o.arch},
      {"act", o.act},
      {"opt", o.opt},
      {"batch", o.batch},
      {"epochs", o.epochs},
      {"seed", o.seed},
      {"train_samples", samples},
      {"median_epoch_seconds", median_seconds},
      {"samples_per_s", median_seconds > 0 ? static_cast<double>(samples) / median_seconds : 0.0},
      {"epoch_seconds", seconds},
      {"final_test_accuracy", final_accuracy},
      {"threads", run.threads},
      {"flush_denormal", o.flush_denormal},
      {"update_in_backward", o.update_in_backward},
      {"blas", blas_description()},
      {"peak_rss_mib", rss},
      {"memory",
       {{"buffers_created", run.memory.buffers_created},
        {"buffers_reused", run.memory.buffers_reused},
        {"objects_created", run.memory.objects_created},
        {"bytes_in_use", run.memory.bytes_in_use},
        {"bytes_cached", run.memory.bytes_cached}}}};
  if (floor) summary["gemm"] = gemm_json(*floor);
  if (optimizer_floor)
    summary["optimizer_floor"] = {{"parameters", optimizer_floor->parameters},
                                  {"bytes_per_step", optimizer_floor->bytes_per_step},
                                  {"gbps", optimizer_floor->gbps},
                                  {"epoch_seconds", optimizer_floor->epoch_seconds}};

  std::string human = fmt::format(
      "median epoch {:.3f} s ({:.0f} samples/s), final test acc {:.2f}%, threads {}, {}\n"
      "peak RSS {:.0f} MiB; memory: {} buffers created, {} reused, {} tensor objects created, {} KiB in use, "
      "{} KiB cached",
      median_seconds, static_cast<double>(samples) / median_seconds, 100 * final_accuracy, run.threads,
      blas_description(), rss, run.memory.buffers_created, run.memory.buffers_reused,
      run.memory.objects_created, run.memory.bytes_in_use / 1024, run.memory.bytes_cached / 1024);
  if (floor) {
    human += fmt::format(
        "\nGEMM floor at batch {}, {} threads: {:.1f} us/step at {:.1f} GFLOP/s -> {:.3f} s/epoch; "
        "median epoch is {:.2f}x the floor\n"
        "peak floor: {:.3f} GFLOP/step at {:.1f} GFLOP/s (2048^3 sgemm, one thread) x {} threads -> {:.3f} "
        "s/epoch; median epoch is {:.2f}x the peak floor\n"
        "  {:<7} {:<14} {:>8} {:>9}   {:>10} {:>10} {:>10}  (us per call)\n",
        o.batch, run.threads, floor->step_seconds * 1e6, floor->gflops(), floor->epoch_seconds,
        median_seconds / floor->epoch_seconds, floor->step_flops() * 1e-9, floor->peak_one_thread_gflops,
        run.threads, floor->peak_epoch_seconds, median_seconds / floor->peak_epoch_seconds, "product",
        "[MxNxK]", "best us", "GFLOP/s", "blas 1 thr", fmt::format("blas {} thr", run.threads), "bend split");
    for (const GemmShape& s : floor->shapes)
      human += fmt::format("  {:<7} {:<14} {:8.1f} {:9.1f}   {:10.1f} {:10.1f} {:10.1f}\n", s.role,
                           fmt::format("[{}x{}x{}]", s.m, s.n, s.k), s.seconds_per_call * 1e6, s.gflops(),
                           s.blas_one_thread_seconds * 1e6, s.blas_threads_seconds * 1e6,
                           s.bend_split_seconds * 1e6);
    human.pop_back();
  }
  if (optimizer_floor)
    human += fmt::format(
        "\noptimizer floor: {} parameters x {:.0f} bytes = {:.2f} MB per step at {:.1f} GB/s (measured, {} "
        "threads) "
        "-> {:.3f} s/epoch",
        optimizer_floor->parameters,
        optimizer_floor->bytes_per_step / static_cast<double>(optimizer_floor->parameters),
        optimizer_floor->bytes_per_step * 1e-6, optimizer_floor->gbps, run.threads,
        optimizer_floor->epoch_seconds);
  emit(summary, human);
  return 0;
}

}  // namespace bend::bench

#ifndef BEND_BENCH_NO_MAIN
int main(int argc, char** argv) {
  try {
    return bend::bench::bench_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bend_bench: %s\n", e.what());
    return 1;
  }
}
#endif
