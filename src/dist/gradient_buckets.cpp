// Bucketed, overlapped gradient allreduce for data-parallel training (bend/dist/gradient_buckets.hpp).
#include "bend/dist/gradient_buckets.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include <fmt/format.h>

#include "bend/error.hpp"

#ifndef BEND_HAVE_MPI
#define BEND_HAVE_MPI 0
#endif
#if BEND_HAVE_MPI
#include <mpi.h>
#endif

namespace bend::dist {

namespace {
#if BEND_HAVE_MPI
void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(
      fmt::format("{} failed: {}", call, length > 0 ? std::string(text, length) : "unknown MPI error"));
}
#endif
}  // namespace

struct GradientBuckets::Bucket {
  std::vector<float> buffer;       // the bucket's gradients, back to back (made once)
  std::vector<std::size_t> slots;  // its parameters
  std::size_t pending = 0;         // parameters not yet arrived this step
#if BEND_HAVE_MPI
  MPI_Request request = MPI_REQUEST_NULL;
#endif
};

GradientBuckets::GradientBuckets(World world, std::vector<Tensor> parameters, std::size_t bucket_bytes)
    : world_(world) {
  if (bucket_bytes == 0) throw ValueError("GradientBuckets: the bucket size must be positive");
  const std::size_t bucket_floats = std::max<std::size_t>(1, bucket_bytes / sizeof(float));
  // Reverse order: backward reports the last layer first, so the first bucket fills first.
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    if (!it->defined()) throw ValueError("GradientBuckets: a parameter is undefined");
    if (!it->requires_grad()) continue;  // frozen: no gradient to average
    const auto n = static_cast<std::size_t>(it->numel());
    if (buckets_.empty() ||
        (!buckets_.back()->slots.empty() && buckets_.back()->buffer.size() + n > bucket_floats))
      buckets_.push_back(std::make_unique<Bucket>());
    Bucket& b = *buckets_.back();
    if (b.buffer.size() + n > static_cast<std::size_t>(INT_MAX))
      throw ValueError(fmt::format(
          "GradientBuckets: a parameter of {} values is more than one MPI call sends", it->numel()));
    slots_.push_back({*it, buckets_.size() - 1, static_cast<std::int64_t>(b.buffer.size()), false});
    b.slots.push_back(slots_.size() - 1);
    b.buffer.resize(b.buffer.size() + n);
    numel_ += it->numel();
  }
  slot_of_.reserve(slots_.size());
  for (std::size_t k = 0; k < slots_.size(); ++k) slot_of_.emplace_back(slots_[k].parameter.impl(), k);
  std::sort(slot_of_.begin(), slot_of_.end());
  for (std::size_t k = 1; k < slot_of_.size(); ++k)
    if (slot_of_[k].first == slot_of_[k - 1].first)
      throw ValueError("GradientBuckets: the same parameter is listed twice");
  for (auto& b : buckets_) b->pending = b->slots.size();
}

GradientBuckets::~GradientBuckets() {
  try {
    wait_all();
  } catch (...) {  // (a destructor reports nothing; the error that unwound us is the one that matters)
  }
}

std::vector<std::size_t> GradientBuckets::bucket_sizes() const {
  std::vector<std::size_t> out;
  for (const auto& b : buckets_) out.push_back(b->slots.size());
  return out;
}

void GradientBuckets::begin(float weight) {
  wait_all();  // (only after a step that threw: a normal step ends in finish())
  weight_ = weight;
  for (Slot& s : slots_) s.arrived = false;
  for (auto& b : buckets_) b->pending = b->slots.size();
  next_launch_ = 0;
}

void GradientBuckets::on_ready(void* self, const Tensor& leaf) {
  auto& me = *static_cast<GradientBuckets*>(self);
  const detail::TensorImpl* impl = leaf.impl();
  const auto it =
      std::lower_bound(me.slot_of_.begin(), me.slot_of_.end(), impl,
                       [](const auto& entry, const detail::TensorImpl* p) { return entry.first < p; });
  if (it == me.slot_of_.end() || it->first != impl) return;  // a leaf that is not one of ours (an input)
  me.arrive(it->second);
}

// Copies weight × gradient (zeros when there is none) into the bucket; a complete bucket starts.
void GradientBuckets::arrive(std::size_t slot) {
  Slot& s = slots_[slot];
  if (s.arrived) return;
  s.arrived = true;
  Bucket& b = *buckets_[s.bucket];
  float* dst = b.buffer.data() + s.offset;
  const detail::TensorImpl& p = *s.parameter.impl();
  const std::int64_t n = p.numel;
  if (p.grad && !p.grad_is_zero) {
    const float* g = p.grad->data;
    const float w = weight_;
    for (std::int64_t i = 0; i < n; ++i) dst[i] = w * g[i];
  } else {
    std::fill_n(dst, n, 0.0f);
  }
  if (--b.pending == 0) launch_complete_buckets();
#if BEND_HAVE_MPI
  // Open MPI advances non-blocking collectives only inside MPI calls: nudge those in flight.
  if (world_.size() > 1 && next_launch_ > 0) {
    int done = 0;
    for (std::size_t k = 0; k < next_launch_; ++k)
      if (buckets_[k]->request != MPI_REQUEST_NULL)
        check_mpi(MPI_Test(&buckets_[k]->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  }
#endif
}

void GradientBuckets::launch_complete_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_]->pending == 0) {
    Bucket& b = *buckets_[next_launch_];
#if BEND_HAVE_MPI
    if (world_.size() > 1)
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), static_cast<int>(b.buffer.size()), MPI_FLOAT,
                               MPI_SUM, MPI_COMM_WORLD, &b.request),
                "MPI_Iallreduce");
#else
    (void)b;
#endif
    ++next_launch_;
  }
}

void GradientBuckets::wait_all() {
#if BEND_HAVE_MPI
  for (auto& b : buckets_)
    if (b->request != MPI_REQUEST_NULL) check_mpi(MPI_Wait(&b->request, MPI_STATUS_IGNORE), "MPI_Wait");
#endif
}

void GradientBuckets::finish() {
  // Parameters backward did not reach (unused this step, or used only after the loss) arrive as zeros.
  for (std::size_t k = 0; k < slots_.size(); ++k) arrive(k);
  wait_all();
  for (const Slot& s : slots_) {
    const GradTarget target = grad_target(s.parameter);
    const float* src = buckets_[s.bucket]->buffer.data() + s.offset;
    std::copy_n(src, s.parameter.numel(), target.data);
  }
}

void broadcast_tensors(const World& world, std::span<Tensor> tensors, int root) {
  if (world.size() == 1) return;
#if BEND_HAVE_MPI
  for (Tensor& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    if (t.numel() > INT_MAX)
      throw ValueError(
          fmt::format("broadcast_tensors: a tensor of {} values is more than one MPI call sends", t.numel()));
    check_mpi(MPI_Bcast(t.data(), static_cast<int>(t.numel()), MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
#else
  (void)tensors;
  (void)root;
#endif
}

}  // namespace bend::dist
