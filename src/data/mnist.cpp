// Loading MNIST-style datasets: locate a split's image and label files (plain or .gz), read them
// with the IDX reader and check they describe the same images with labels in range.
#include "bend/data/mnist.hpp"

#include <system_error>

#include <fmt/format.h>

#include "bend/data/idx.hpp"
#include "bend/data/registry.hpp"
#include "bend/error.hpp"

namespace bend {
namespace {

namespace fs = std::filesystem;

// Far beyond any image dataset, and small enough that pixel counts never overflow (2^31).
constexpr std::uint64_t kMaxPixelsPerImage = std::uint64_t{1} << 31;

// "; <hint>" for error messages, or nothing when there is no hint.
std::string hint_suffix(const std::string& fetch_hint) { return fetch_hint.empty() ? "" : "; " + fetch_hint; }

// dir/stem if it exists, else dir/stem.gz.
fs::path find_idx_file(const fs::path& dir, const std::string& stem, const std::string& fetch_hint) {
  std::error_code ec;
  fs::path plain = dir / stem;
  if (fs::exists(plain, ec)) return plain;
  fs::path gzipped = dir / (stem + ".gz");
  if (fs::exists(gzipped, ec)) return gzipped;
  throw IoError(
      fmt::format("{}: neither {} nor {}.gz is there{}", dir.string(), stem, stem, hint_suffix(fetch_hint)));
}

// "mnist" for "data/mnist" and "data/mnist/".
std::string dataset_name(const fs::path& dir) {
  fs::path normal = dir.lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  std::string name = normal.filename().string();
  return name.empty() ? std::string("dataset") : name;
}

}  // namespace

std::string_view to_string(Split split) { return split == Split::Train ? "train" : "test"; }

ImageDataset load_image_dataset(const fs::path& dir, Split split, const IdxLayout& layout) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw IoError(
        fmt::format("{}: dataset directory does not exist{}", dir.string(), hint_suffix(layout.fetch_hint)));
  if (!fs::is_directory(dir, ec)) throw IoError(fmt::format("{}: not a directory", dir.string()));

  const std::string& prefix = split == Split::Train ? layout.train_prefix : layout.test_prefix;
  const fs::path images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte", layout.fetch_hint);
  const fs::path labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte", layout.fetch_hint);
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);

  if (images.dims.size() != 3)
    throw IoError(
        fmt::format("{}: images must be 3-D [count, rows, cols] but the file has {} dimensions ({})",
                    images_path.string(), images.dims.size(), fmt::join(images.dims, "x")));
  if (labels.dims.size() != 1)
    throw IoError(fmt::format("{}: labels must be 1-D [count] but the file has {} dimensions ({})",
                              labels_path.string(), labels.dims.size(), fmt::join(labels.dims, "x")));
  // The reader checked that count x rows x cols bytes are in the file, which bounds nothing when the
  // count is 0; rows x cols become a tensor width (int64) and a model's input size.
  const std::uint64_t image_pixels = std::uint64_t{images.dims[1]} * images.dims[2];
  if (image_pixels == 0 || image_pixels > kMaxPixelsPerImage)
    throw IoError(
        fmt::format("{}: images of {}x{} pixels are not usable (each image must have 1 to {} pixels)",
                    images_path.string(), images.dims[1], images.dims[2], kMaxPixelsPerImage));
  if (images.dims[0] != labels.dims[0])
    throw IoError(fmt::format("count mismatch: {} has {} images but {} has {} labels", images_path.string(),
                              images.dims[0], labels_path.string(), labels.dims[0]));
  const int first = layout.first_label, last = layout.first_label + layout.num_classes - 1;
  for (std::size_t i = 0; i < labels.bytes.size(); ++i) {
    const int stored = labels.bytes[i];
    if (stored < first || stored > last)
      throw IoError(fmt::format("{}: label at index {} is {}, outside the {} classes {}..{}",
                                labels_path.string(), i, stored, layout.num_classes, first, last));
    labels.bytes[i] = static_cast<std::uint8_t>(stored - first);
  }

  ImageDataset dataset;
  dataset.count = images.dims[0];
  // A transposed file stores each image column by column: its "rows" are the image's columns.
  dataset.rows = layout.transposed ? images.dims[2] : images.dims[1];
  dataset.cols = layout.transposed ? images.dims[1] : images.dims[2];
  if (layout.transposed) {
    // stored[n][c][r] -> pixels[n][r][c]
    const std::int64_t rows = dataset.rows, cols = dataset.cols, plane = rows * cols;
    dataset.pixels.resize(images.bytes.size());
    for (std::int64_t n = 0; n < dataset.count; ++n) {
      const std::uint8_t* src = images.bytes.data() + n * plane;
      std::uint8_t* dst = dataset.pixels.data() + n * plane;
      for (std::int64_t c = 0; c < cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) dst[r * cols + c] = src[c * rows + r];
    }
  } else {
    dataset.pixels = std::move(images.bytes);
  }
  dataset.labels = std::move(labels.bytes);
  dataset.num_classes = layout.num_classes;
  dataset.name = fmt::format("{}/{}", dataset_name(dir), to_string(split));
  return dataset;
}

fs::path default_data_dir(std::string_view dataset) { return find_dataset(dataset).default_dir(); }

}  // namespace bend
