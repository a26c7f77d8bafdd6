#pragma once
// Data-parallel gradient averaging, the way PyTorch's DistributedDataParallel reducer does it (Li et al.,
// "PyTorch Distributed", VLDB 2020): the parameters are grouped into buckets of about 25 MB, in reverse
// order (backward produces the last layer's gradients first); during backward the tape's grad-ready hook
// (bend/autograd.hpp) reports each parameter whose gradient is final, its gradient is copied into its
// bucket, and a bucket whose every gradient has arrived starts a non-blocking allreduce at once, while
// backward computes the earlier layers. finish() waits and writes the averaged gradients back.
//
//   dist::GradientBuckets buckets(world, model.parameters());
//   buckets.begin(rows_here / rows_in_global_batch);
//   { GradReadyHookScope scope(buckets.hook()); loss.backward(); }
//   buckets.finish();  // every rank now holds the global batch's mean gradient
//
// Buckets start in bucket order on every rank (MPI needs collectives in the same order everywhere). A
// parameter backward did not reach counts as a zero gradient on this rank. Without MPI, or in a world of
// one, nothing is sent and finish() leaves weight × gradient. Buffers are made once; a step allocates
// nothing. Only the thread that initialised MPI may call these (MPI_THREAD_FUNNELED).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bend/autograd.hpp"
#include "bend/dist/mpi.hpp"
#include "bend/tensor.hpp"

namespace bend::dist {

class GradientBuckets {
 public:
  static constexpr std::size_t kDefaultBucketBytes = std::size_t{25} << 20;  // PyTorch's bucket_cap_mb=25

  // Parameters that do not require grad (frozen) are left out. Throws ValueError when bucket_bytes is 0
  // or a parameter is listed twice.
  GradientBuckets(World world, std::vector<Tensor> parameters,
                  std::size_t bucket_bytes = kDefaultBucketBytes);
  ~GradientBuckets();  // waits for reductions still in flight (after an exception mid-step)
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Starts a step. This rank's gradients are multiplied by `weight` before the sum over ranks: its
  // share of the global batch (rows here / rows in all), so the sum is the global batch's mean.
  void begin(float weight);
  // For GradReadyHookScope around backward().
  GradReadyHook hook() { return {&GradientBuckets::on_ready, this}; }
  // Reduces what has not started yet, waits for every bucket, and writes the result into every
  // parameter's grad (created where this rank has none).
  void finish();

  std::size_t bucket_count() const { return buckets_.size(); }
  // Floats reduced per step (every parameter once).
  std::int64_t numel() const { return numel_; }
  // Parameters per bucket, in launch order (for tests and the run header).
  std::vector<std::size_t> bucket_sizes() const;

 private:
  struct Slot {
    Tensor parameter;
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // in the bucket's buffer
    bool arrived = false;     // this step
  };
  struct Bucket;

  static void on_ready(void* self, const Tensor& leaf);
  void arrive(std::size_t slot);
  void launch_complete_buckets();  // in bucket order, from next_launch_
  void wait_all();

  World world_;
  std::vector<Slot> slots_;
  std::vector<std::pair<const detail::TensorImpl*, std::size_t>> slot_of_;  // sorted by impl
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::size_t next_launch_ = 0;
  std::int64_t numel_ = 0;
  float weight_ = 1.0f;
};

// Root's values of every tensor to every rank (in place; same shapes on every rank). Data-parallel
// training starts from identical parameters this way.
void broadcast_tensors(const World& world, std::span<Tensor> tensors, int root = 0);

}  // namespace bend::dist
