// TensorDataset conversions and normalisation, and the DataLoader's batching, shuffling and state.
#include "bend/data/loader.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "bend/data/registry.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/parallel.hpp"
#include "bend/rng.hpp"

namespace bend {
namespace {

// Samples [first, first + count) of `base` (samples along dimension 0) as a tensor of shape `shape`
// ([count, ...], as many elements) sharing its storage. Built like Tensor::detach() but starting inside
// the storage; the impl comes from the recycling allocator, so making one per batch does not touch the
// heap in steady state.
Tensor row_view(const Tensor& base, std::int64_t first, const Shape& shape) {
  const detail::TensorImpl& src = *base.impl();
  std::int64_t width = 1;  // floats per sample
  for (int d = 1; d < src.shape.ndim(); ++d) width *= src.shape[d];
  auto impl = std::allocate_shared<detail::TensorImpl>(detail::RecyclingAllocator<detail::TensorImpl>{});
  impl->storage = src.storage;
  impl->data = src.data + first * width;
  impl->shape = shape;
  impl->numel = shape.numel();
  return Tensor(std::move(impl));
}

}  // namespace

Batch shard_of(const Batch& batch, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw ValueError(fmt::format("shard_of: rank {} of {} ranks", rank, ranks));
  const std::int64_t first = batch.size * rank / ranks, last = batch.size * (rank + 1) / ranks;
  Batch out;
  out.images = row_view(batch.images, first, batch.images.shape().with_dim(0, last - first));
  out.labels = batch.labels.subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(last - first));
  out.size = last - first;
  out.index = batch.index;
  return out;
}

TensorDataset to_tensor_dataset(const ImageDataset& dataset) {
  const std::int64_t features = dataset.rows * dataset.cols;
  if (static_cast<std::int64_t>(dataset.pixels.size()) != dataset.count * features ||
      static_cast<std::int64_t>(dataset.labels.size()) != dataset.count)
    throw ValueError(
        fmt::format("to_tensor_dataset: {}: {} images of {}x{} need {} pixels and {} labels, got {} and {}",
                    dataset.name, dataset.count, dataset.rows, dataset.cols, dataset.count * features,
                    dataset.count, dataset.pixels.size(), dataset.labels.size()));
  // A table of the 256 quotients: the same values as dividing each pixel, at a lookup's cost.
  float scale[256];
  for (int v = 0; v < 256; ++v) scale[v] = static_cast<float>(v) / 255.0f;

  TensorDataset out;
  out.images = Tensor::empty(Shape{dataset.count, features});
  float* dst = out.images.data();
  for (std::size_t i = 0; i < dataset.pixels.size(); ++i) dst[i] = scale[dataset.pixels[i]];
  out.labels.assign(dataset.labels.begin(), dataset.labels.end());
  out.rows = dataset.rows;
  out.cols = dataset.cols;
  out.num_classes = dataset.num_classes;
  out.name = dataset.name;
  return out;
}

TensorDataset load_tensor_dataset(std::string_view dataset, const std::filesystem::path& dir, Split split) {
  return load_dataset(dataset, dir, split);
}

TensorDataset subset(const TensorDataset& dataset, std::int64_t first, std::int64_t count) {
  const std::int64_t n = dataset.size();
  if (first < 0 || count < 0 || first > n || count > n - first)
    throw ValueError(fmt::format("subset: samples [{}, {}) are outside {} ({} samples)", first, first + count,
                                 dataset.name, n));
  TensorDataset out;
  out.images = Tensor::empty(Shape{count, dataset.features()});
  if (count > 0)
    std::memcpy(out.images.data(), dataset.images.data() + first * dataset.features(),
                static_cast<std::size_t>(count * dataset.features()) * sizeof(float));
  out.labels.assign(dataset.labels.begin() + first, dataset.labels.begin() + first + count);
  out.rows = dataset.rows;
  out.cols = dataset.cols;
  out.num_classes = dataset.num_classes;
  out.name = fmt::format("{}[{}:{}]", dataset.name, first, first + count);
  return out;
}

Normalization compute_normalization(const TensorDataset& train) {
  if (!train.images.defined() || train.images.numel() == 0)
    throw ValueError(fmt::format("compute_normalization: {} has no pixels", train.name));
  // Two passes in double: the mean first, then squared deviations (no cancellation).
  const std::span<const float> pixels = train.images.span();
  double sum = 0.0;
  for (float v : pixels) sum += v;
  const double mean = sum / static_cast<double>(pixels.size());
  double squares = 0.0;
  for (float v : pixels) squares += (v - mean) * (v - mean);
  const double variance = squares / static_cast<double>(pixels.size());
  return {static_cast<float>(mean), static_cast<float>(std::sqrt(variance))};
}

void normalize(TensorDataset& dataset, Normalization normalization) {
  if (!std::isfinite(normalization.mean) || !std::isfinite(normalization.std) || !(normalization.std > 0.0f))
    throw ValueError(fmt::format("normalize: {}: mean {} and std {} must be finite with std > 0",
                                 dataset.name, normalization.mean, normalization.std));
  if (!dataset.images.defined()) return;
  const float mean = normalization.mean, inv_std = 1.0f / normalization.std;
  for (float& v : dataset.images.span()) v = (v - mean) * inv_std;
}

DataLoader::DataLoader(const TensorDataset& dataset, const LoaderOptions& options)
    : images_(dataset.images),
      labels_(dataset.labels),
      count_(dataset.size()),
      features_(dataset.features()),
      batch_size_(options.batch_size),
      shuffle_(options.shuffle),
      drop_last_(options.drop_last),
      sample_shape_(options.images ? dataset.sample_shape() : Shape{dataset.features()}),
      own_rng_(options.seed) {
  check_and_allocate(dataset);
}

DataLoader::DataLoader(const TensorDataset& dataset, std::int64_t batch_size, bool shuffle, Rng& rng,
                       bool drop_last)
    : images_(dataset.images),
      labels_(dataset.labels),
      count_(dataset.size()),
      features_(dataset.features()),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last),
      sample_shape_{dataset.features()},
      external_rng_(&rng) {
  check_and_allocate(dataset);
}

Shape DataLoader::batch_shape(std::int64_t size) const {
  std::array<std::int64_t, Shape::kMaxDims> dims{};
  dims[0] = size;
  for (int d = 0; d < sample_shape_.ndim(); ++d) dims[static_cast<std::size_t>(d + 1)] = sample_shape_[d];
  return Shape(
      std::span<const std::int64_t>(dims.data(), static_cast<std::size_t>(sample_shape_.ndim() + 1)));
}

void DataLoader::check_and_allocate(const TensorDataset& dataset) {
  if (batch_size_ < 1)
    throw ValueError(fmt::format("DataLoader: batch_size must be >= 1, got {}", batch_size_));
  if (!images_.defined() || images_.ndim() != 2 || images_.size(0) != count_ || images_.size(1) != features_)
    throw ShapeError(fmt::format("DataLoader: {}: images must be [{}, {}] ({} labels, {}x{} pixels), got {}",
                                 dataset.name, count_, features_, count_, dataset.rows, dataset.cols,
                                 images_.defined() ? images_.shape().str() : std::string("undefined")));
  if (shuffle_) {
    order_.resize(static_cast<std::size_t>(count_));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
    const std::int64_t full = std::min(batch_size_, count_);
    full_batch_images_ = Tensor::empty(batch_shape(full));
    const std::int64_t remainder = count_ % batch_size_;
    if (remainder != 0 && count_ > batch_size_ && !drop_last_)
      partial_batch_images_ = Tensor::empty(batch_shape(remainder));
    batch_labels_.resize(static_cast<std::size_t>(full));
  }
}

std::int64_t DataLoader::batches_per_epoch() const {
  return drop_last_ ? count_ / batch_size_ : (count_ + batch_size_ - 1) / batch_size_;
}

void DataLoader::start_epoch() {
  started_ = true;
  resume_pending_ = false;
  ++epoch_;
  next_batch_ = 0;
  if (!shuffle_) return;
  // From file order every time, so the order is a function of the rng state alone.
  std::iota(order_.begin(), order_.end(), std::int64_t{0});
  for (std::int64_t i = count_ - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng().below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
  }
}

bool DataLoader::next(Batch& batch) {
  if (!started_) start_epoch();
  if (next_batch_ >= batches_per_epoch()) return false;
  const std::int64_t first = next_batch_ * batch_size_;
  const std::int64_t size = std::min(batch_size_, count_ - first);
  batch.size = size;
  batch.index = next_batch_;
  ++next_batch_;

  if (!shuffle_) {
    batch.images = row_view(images_, first, batch_shape(size));
    batch.labels = std::span<const std::int32_t>(labels_.data() + first, static_cast<std::size_t>(size));
    return true;
  }
  Tensor& buffer = size == full_batch_images_.size(0) ? full_batch_images_ : partial_batch_images_;
  const float* src = images_.data();
  float* dst = buffer.data();
  const auto row_bytes = static_cast<std::size_t>(features_) * sizeof(float);
  // Gathered by all of bend's threads: the rows come from anywhere in a dataset far larger than the
  // caches, so the copy waits on memory, and each thread then holds a share of the batch in its cache.
  parallel_for(parts_for_elementwise(size * features_), [&](int part, int parts) {
    const auto [begin, end] = split_range(size, part, parts, 1);
    for (std::int64_t k = begin; k < end; ++k) {
      const std::int64_t sample = order_[static_cast<std::size_t>(first + k)];
      std::memcpy(dst + k * features_, src + sample * features_, row_bytes);
      batch_labels_[static_cast<std::size_t>(k)] = labels_[static_cast<std::size_t>(sample)];
    }
  });
  batch.images = buffer;
  batch.labels = std::span<const std::int32_t>(batch_labels_.data(), static_cast<std::size_t>(size));
  return true;
}

DataLoader::Iterator DataLoader::begin() {
  if (!resume_pending_) start_epoch();
  resume_pending_ = false;
  return Iterator(this, &iteration_batch_);
}

LoaderState DataLoader::state() const {
  LoaderState s;
  if (shuffle_) s.order = order_;
  s.next_batch = next_batch_;
  s.epoch = epoch_;
  return s;
}

void DataLoader::set_state(const LoaderState& state) {
  if (state.next_batch < 0 || state.next_batch > batches_per_epoch())
    throw ValueError(fmt::format("DataLoader::set_state: next_batch {} is outside [0, {}]", state.next_batch,
                                 batches_per_epoch()));
  if (state.epoch < 0) throw ValueError(fmt::format("DataLoader::set_state: negative epoch {}", state.epoch));
  if (shuffle_) {
    if (static_cast<std::int64_t>(state.order.size()) != count_)
      throw ValueError(fmt::format("DataLoader::set_state: the saved order has {} entries for {} samples",
                                   state.order.size(), count_));
    std::vector<bool> seen(static_cast<std::size_t>(count_), false);
    for (std::size_t k = 0; k < state.order.size(); ++k) {
      const std::int64_t sample = state.order[k];
      if (sample < 0 || sample >= count_ || seen[static_cast<std::size_t>(sample)])
        throw ValueError(
            fmt::format("DataLoader::set_state: the saved order is not a permutation of 0..{} "
                        "(entry {} is {})",
                        count_ - 1, k, sample));
      seen[static_cast<std::size_t>(sample)] = true;
    }
    order_ = state.order;
  } else {
    for (std::size_t k = 0; k < state.order.size(); ++k) {
      if (state.order.size() != static_cast<std::size_t>(count_) ||
          state.order[k] != static_cast<std::int64_t>(k))
        throw ValueError(
            "DataLoader::set_state: this loader does not shuffle but the saved order is not file order");
    }
  }
  next_batch_ = state.next_batch;
  epoch_ = state.epoch;
  started_ = true;
  resume_pending_ = true;
}

}  // namespace bend
