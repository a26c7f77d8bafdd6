#pragma once
// In-memory datasets as tensors and the mini-batch loader that feeds training.
//
// A TensorDataset holds one split as a float [N, rows*cols] tensor in [0, 1] plus int32 labels. A
// DataLoader walks it in mini-batches, in file order or in a fresh random order every epoch, without
// touching the heap once the first epoch has run: shuffled rows are gathered into buffers made once,
// and file-order batches are views into the dataset itself.
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/mnist.hpp"
#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend {

// One split of an image classification dataset, ready for a model.
struct TensorDataset {
  Tensor images;                     // [N, rows*cols] float32; in [0, 1] unless normalize()d
  std::vector<std::int32_t> labels;  // N class indices in [0, num_classes)
  std::int64_t rows = 0, cols = 0;
  int num_classes = 10;  // set from the dataset's registry entry by load_dataset()
  std::string name;      // e.g. "mnist/train"

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t features() const { return rows * cols; }
  // One sample as an image, [C, H, W]: {1, rows, cols} (bend's datasets are single-channel; the
  // registry's input_shape, checked by load_dataset()).
  Shape sample_shape() const { return Shape{1, rows, cols}; }
};

// Pixels as pixel / 255.0f (like torchvision's ToTensor), labels widened to int32.
TensorDataset to_tensor_dataset(const ImageDataset& dataset);

// Same as load_dataset() in bend/data/registry.hpp (kept for existing callers): one split of a
// registered dataset from `dir` (empty: the entry's default directory), named "<dataset>/<train|test>".
// Unknown names throw bend::ValueError, missing or malformed files bend::IoError.
TensorDataset load_tensor_dataset(std::string_view dataset, const std::filesystem::path& dir, Split split);

// Samples [first, first + count) as a new dataset with its own copy of the pixels (so normalizing
// the subset never changes the original). Throws bend::ValueError when the range is outside [0, N].
TensorDataset subset(const TensorDataset& dataset, std::int64_t first, std::int64_t count);

// Per-dataset standardisation: x -> (x - mean) / std with one mean and std over all pixels.
struct Normalization {
  float mean = 0.0f;
  float std = 1.0f;
};

// Mean and (population) standard deviation of every pixel of the training split, accumulated in
// double. Use the same statistics for the test split. Throws bend::ValueError on an empty dataset.
Normalization compute_normalization(const TensorDataset& train);

// Applies (x - mean) / std to every pixel, in place. Copies of a TensorDataset share their images
// tensor (Tensor is a handle), so they see the change too; use subset() for an independent copy.
// Throws bend::ValueError if std is not a positive finite number or mean is not finite.
void normalize(TensorDataset& dataset, Normalization normalization);

// One mini-batch. Valid until the next call to DataLoader::next() (or start_epoch/set_state): the
// images tensor is either a view into the dataset (file order) or a buffer that the loader refills,
// and labels points into loader-owned or dataset-owned memory. clone() what you need to keep.
struct Batch {
  Tensor images;  // [size, rows*cols], or [size, 1, rows, cols] (LoaderOptions::images)
  std::span<const std::int32_t> labels;  // size labels
  std::int64_t size = 0;                 // samples in this batch (batch_size, or fewer for the last)
  std::int64_t index = 0;                // 0-based batch number within the epoch
};

// Rank `rank`'s share of a batch split over `ranks` data-parallel processes: rows
// [size·rank/ranks, size·(rank+1)/ranks), as a view (no copy), valid as long as `batch`. Every rank takes
// its rows of the same global batch, so R ranks together see exactly what one process sees.
Batch shard_of(const Batch& batch, int rank, int ranks);

// Where a loader is within an epoch, for checkpoints. `order` is the epoch's sample order (empty when
// the loader does not shuffle: file order), `next_batch` the index of the batch next() returns next,
// `epoch` the number of start_epoch() calls so far.
struct LoaderState {
  std::vector<std::int64_t> order;
  std::int64_t next_batch = 0;
  std::int64_t epoch = 0;
};

// How a DataLoader made from options batches, orders and shapes its samples.
struct LoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = false;
  std::uint64_t seed = 0;  // seeds the loader's own Rng, which draws each epoch's order
  bool drop_last = false;  // drop a last, smaller batch
  bool images = false;     // batch.images as [N, C, H, W] (the dataset's sample_shape()), not [N, C·H·W]
};

// Mini-batches over a TensorDataset. Each range-for is one epoch:
//
//   DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1, .images = true});
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     for (Batch& batch : loader) { ... batch.images [64, 1, 28, 28], batch.labels ... }
//
// or, by hand, loader.start_epoch() and then `while (loader.next(batch))`.
//
// Shuffling: start_epoch() resets the order to file order and then Fisher-Yates-shuffles it with
// rng.below(), so each epoch's order depends only on the rng's state when start_epoch() is called.
// Resuming at an epoch boundary therefore needs only the rng state (Rng::state(), saved by the
// trainer); resuming in the middle of an epoch also needs state()/set_state(). A loader made from
// options owns its Rng (seeded with options.seed: the same seed gives the same orders); the older
// constructor keeps a reference to the caller's `rng`, which must then outlive it. The loader shares
// the dataset's images tensor and copies its labels, so the TensorDataset object itself may go away.
class DataLoader {
 public:
  // Throws bend::ValueError when batch_size < 1 and bend::ShapeError when the images are not
  // [labels.size(), features] with features == rows*cols.
  DataLoader(const TensorDataset& dataset, const LoaderOptions& options);
  // The same with the caller's `rng` (kept by reference: it must outlive the loader), flat batches.
  DataLoader(const TensorDataset& dataset, std::int64_t batch_size, bool shuffle, Rng& rng,
             bool drop_last = false);

  // Begins an epoch: rewinds to the first batch and, when shuffling, draws a new order.
  void start_epoch();
  // Fills `batch` with the next batch of this epoch; false when the epoch is over. Before the first
  // start_epoch(), the first call starts an epoch itself.
  bool next(Batch& batch);

  // Batches in one epoch: ceil(N / batch_size), or floor(N / batch_size) with drop_last.
  std::int64_t batches_per_epoch() const;
  // Same as batches_per_epoch() (the name torch's len(loader) users look for).
  std::int64_t num_batches() const { return batches_per_epoch(); }
  std::int64_t batch_size() const { return batch_size_; }
  std::int64_t dataset_size() const { return count_; }
  bool shuffles() const { return shuffle_; }
  // Number of start_epoch() calls so far (including an implicit one from next()).
  std::int64_t epoch() const { return epoch_; }

  // Range-for over one epoch: begin() starts the epoch (or, right after set_state(), goes on from the
  // restored position) and yields its batches; each stays valid until the iterator advances.
  class Iterator {
   public:
    Batch& operator*() const { return *batch_; }
    Batch* operator->() const { return batch_; }
    Iterator& operator++() {
      done_ = !loader_->next(*batch_);
      return *this;
    }
    bool operator==(std::default_sentinel_t) const { return done_; }

   private:
    friend class DataLoader;
    Iterator(DataLoader* loader, Batch* batch) : loader_(loader), batch_(batch) { ++*this; }
    DataLoader* loader_;
    Batch* batch_;
    bool done_ = false;
  };
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

  LoaderState state() const;
  // Restores a position saved by state() from a loader over the same dataset with the same settings.
  // Throws bend::ValueError when the order is not a permutation of the samples (or not file order for
  // a loader that does not shuffle) or next_batch is outside [0, batches_per_epoch()].
  void set_state(const LoaderState& state);

 private:
  Tensor images_;  // [N, D], shared with the dataset
  std::vector<std::int32_t> labels_;
  std::int64_t count_ = 0, features_ = 0, batch_size_ = 0;
  bool shuffle_ = false, drop_last_ = false;
  Shape sample_shape_;           // a batch is [size] + sample_shape_
  Rng* external_rng_ = nullptr;  // the caller's Rng (the older constructor); else own_rng_ draws
  Rng own_rng_;
  bool resume_pending_ = false;  // set_state() was called: the next begin() goes on from there
  Batch iteration_batch_;        // what range-for hands out

  std::vector<std::int64_t> order_;  // this epoch's sample order (only used when shuffling)
  std::int64_t next_batch_ = 0;
  std::int64_t epoch_ = 0;
  bool started_ = false;

  void check_and_allocate(const TensorDataset& dataset);
  Rng& rng() { return external_rng_ ? *external_rng_ : own_rng_; }
  Shape batch_shape(std::int64_t size) const;

  // Gather buffers for shuffled batches, made once in the constructor.
  Tensor full_batch_images_;     // [batch_size, D]
  Tensor partial_batch_images_;  // [N % batch_size, D], undefined when every batch is full
  std::vector<std::int32_t> batch_labels_;
};

}  // namespace bend
