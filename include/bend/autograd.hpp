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

 private:
  std::vector<TapeEntry> entries_;  // entries_[0, size_) are live; the rest keep their capacity
  std::size_t size_ = 0;
  std::uint64_t generation_ = 1;
  bool grad_enabled_ = true;
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
