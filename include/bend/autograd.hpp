#pragma once
// The autograd tape. Each differentiable op that sees an input requiring grad records one TapeEntry:
// its backward function and what that needs (inputs, output, saved buffers, scalar arguments).
// backward() replays the entries in reverse order and *adds* into each input's grad. Afterwards the
// tape is cleared (capacity kept) and the intermediate gradients are released, so the next step
// records into the same memory. One tape per thread.
#include <array>
#include <cstdint>
#include <vector>

#include "bend/tensor.hpp"

namespace bend {

struct TapeEntry;
using BackwardFn = void (*)(TapeEntry& entry);

struct TapeEntry {
  BackwardFn backward = nullptr;
  const char* op = "";              // for error messages
  Tensor out;                       // the op's output; out.grad() holds d(loss)/d(out) at replay
  std::array<Tensor, 3> in;         // the op's tensor inputs (undefined where unused)
  std::array<Tensor, 2> saved;      // extra buffers computed in forward for backward
  std::array<float, 4> f{};         // scalar arguments
  std::array<std::int64_t, 4> i{};  // integer arguments
  const void* ctx = nullptr;        // op-specific static data (e.g. a pointwise kernel)
  // Set by run_backward() when a grad-ready hook is installed: bit k means in[k] is a leaf that no entry
  // replayed after this one uses, so its gradient is final once this entry has been replayed.
  std::uint8_t finalizes = 0;
};

// Told during backward() when a leaf's gradient is final: every entry that uses the leaf has been
// replayed (its last contribution is added). Data-parallel training starts reducing gradients here
// while backward goes on; an optimizer can update the leaf here. `leaf.grad()` may be undefined when no
// gradient reached it (the entry that used it was off the path to the root). Leaves the replay never
// reaches (unused, or used only after the root) are not reported. One indirect call per leaf per backward.
struct GradReadyHook {
  void (*on_ready)(void* context, const Tensor& leaf) = nullptr;
  void* context = nullptr;
  explicit operator bool() const { return on_ready != nullptr; }
};

class Tape {
 public:
  // Starts an entry for an op whose output is `out`, when grad mode is on and some input requires
  // grad; returns null otherwise (then nothing is recorded and `out` does not require grad).
  // The pointer is valid until the next record().
  TapeEntry* record(Tensor& out, BackwardFn backward, const char* op, std::initializer_list<Tensor> inputs);

  void run_backward(const Tensor& root, const Tensor* seed);
  // Drops every entry without running backward (e.g. after an inference pass with grad on).
  void clear();
  std::size_t size() const { return size_; }
  std::uint64_t generation() const { return generation_; }
  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  // Installs (or, with an empty hook, removes) the grad-ready hook; returns the previous one. Without a
  // hook, backward() costs nothing extra.
  GradReadyHook set_grad_ready_hook(GradReadyHook hook);

 private:
  std::vector<TapeEntry> entries_;  // entries_[0, size_) are live; the rest keep their capacity
  std::size_t size_ = 0;
  std::uint64_t generation_ = 1;
  bool grad_enabled_ = true;
  GradReadyHook grad_ready_;

  void mark_final_uses(std::int64_t last);
};

// This thread's tape.
Tape& tape();

inline bool grad_enabled() { return tape().grad_enabled(); }

// Turns recording off for its scope (inference, optimizer updates), like torch.no_grad().
class NoGradGuard {
 public:
  NoGradGuard() : previous_(tape().grad_enabled()) { tape().set_grad_enabled(false); }
  ~NoGradGuard() { tape().set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Installs a grad-ready hook on this thread's tape for its scope (the previous one comes back after).
class GradReadyHookScope {
 public:
  explicit GradReadyHookScope(GradReadyHook hook) : previous_(tape().set_grad_ready_hook(hook)) {}
  ~GradReadyHookScope() { tape().set_grad_ready_hook(previous_); }
  GradReadyHookScope(const GradReadyHookScope&) = delete;
  GradReadyHookScope& operator=(const GradReadyHookScope&) = delete;

 private:
  GradReadyHook previous_;
};

// For backward functions: the gradient buffer of `t` to add into, created as zeros on first use;
// null when `t` is undefined or does not require grad.
float* grad_for_accumulation(const Tensor& t);
// For backward functions that can write their result instead of adding it: the gradient buffer of
// `t` and whether it holds zeros now (just created, or cleared by zero_grad()). When is_zero, the
// memory is stale and the caller must write every element (sgemm with beta = 0, `=` not `+=`). Null
// data when `t` is undefined or does not require grad.
struct GradTarget {
  float* data = nullptr;
  bool is_zero = false;
  explicit operator bool() const { return data != nullptr; }
};
GradTarget grad_target(const Tensor& t);
// The gradient arriving at an entry's output during replay.
inline const float* output_grad(const TapeEntry& e) { return e.out.impl()->grad->data; }

}  // namespace bend
