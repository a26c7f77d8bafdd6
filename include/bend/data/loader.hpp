#pragma once
// In-memory datasets as tensors and the mini-batch loader that feeds training.
//
// A TensorDataset holds one split as a float [N, rows*cols] tensor in [0, 1] plus int32 labels. A
// DataLoader walks it in mini-batches, in file order or in a fresh random order every epoch, without
// touching the heap once the first epoch has run: shuffled rows are gathered into buffers made once,
// and file-order batches are views into the dataset itself.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/mnist.hpp"
#include "bend/tensor.hpp"

namespace bend {

class Rng;

// One split of an image classification dataset, ready for a model.
struct TensorDataset {
  Tensor images;                     // [N, rows*cols] float32; in [0, 1] unless normalize()d
  std::vector<std::int32_t> labels;  // N class indices in [0, num_classes)
  std::int64_t rows = 0, cols = 0;
  int num_classes = 10;  // set from the dataset's registry entry by load_dataset()
  std::string name;      // e.g. "mnist/train"

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t features() const { return rows * cols; }
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
  Tensor images;                         // [size, rows*cols]
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

// Mini-batches over a TensorDataset.
//
//   DataLoader loader(train, 64, /*shuffle=*/true, rng);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch();
//     Batch batch;
//     while (loader.next(batch)) { ... batch.images, batch.labels ... }
//   }
//
// Shuffling: start_epoch() resets the order to file order and then Fisher-Yates-shuffles it with
// rng.below(), so each epoch's order depends only on the rng's state when start_epoch() is called.
// Resuming at an epoch boundary therefore needs only the rng state (Rng::state(), saved by the
// trainer); resuming in the middle of an epoch also needs state()/set_state(). The loader keeps a
// reference to `rng`, which must outlive it. The loader shares the dataset's images tensor and copies
// its labels, so the TensorDataset object itself may go away.
class DataLoader {
 public:
  // Throws bend::ValueError when batch_size < 1 and bend::ShapeError when the images are not
  // [labels.size(), features] with features == rows*cols.
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
  Rng* rng_ = nullptr;

  std::vector<std::int64_t> order_;  // this epoch's sample order (only used when shuffling)
  std::int64_t next_batch_ = 0;
  std::int64_t epoch_ = 0;
  bool started_ = false;

  // Gather buffers for shuffled batches, made once in the constructor.
  Tensor full_batch_images_;     // [batch_size, D]
  Tensor partial_batch_images_;  // [N % batch_size, D], undefined when every batch is full
  std::vector<std::int32_t> batch_labels_;
};

}  // namespace bend
