// Loading MNIST-style datasets: locate a split's image and label files (plain or .gz), read them
// with the IDX reader and check they describe the same images with labels in range.
#include "bend/data/mnist.hpp"

#include <cstdlib>
#include <system_error>

#include <fmt/format.h>

#include "bend/data/idx.hpp"
#include "bend/error.hpp"

namespace bend {
namespace {

namespace fs = std::filesystem;

constexpr int kNumClasses = 10;
// Far beyond any image dataset, and small enough that pixel counts never overflow (2^31).
constexpr std::uint64_t kMaxPixelsPerImage = std::uint64_t{1} << 31;
constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

// The remedy to print when a dataset's files are absent.
std::string how_to_get(const fs::path& dir) {
  if (dir.string().find("fashion") != std::string::npos)
    return "install Fashion-MNIST with: apt-get install dataset-fashion-mnist";
  return "run data/fetch-mnist.sh to download MNIST (or set BEND_DATA_DIR to a directory that holds it)";
}

// dir/stem if it exists, else dir/stem.gz.
fs::path find_idx_file(const fs::path& dir, const std::string& stem) {
  std::error_code ec;
  fs::path plain = dir / stem;
  if (fs::exists(plain, ec)) return plain;
  fs::path gzipped = dir / (stem + ".gz");
  if (fs::exists(gzipped, ec)) return gzipped;
  throw IoError(
      fmt::format("{}: neither {} nor {}.gz is there; {}", dir.string(), stem, stem, how_to_get(dir)));
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

ImageDataset load_image_dataset(const fs::path& dir, Split split) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw IoError(fmt::format("{}: dataset directory does not exist; {}", dir.string(), how_to_get(dir)));
  if (!fs::is_directory(dir, ec)) throw IoError(fmt::format("{}: not a directory", dir.string()));

  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const fs::path images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
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
  for (std::size_t i = 0; i < labels.bytes.size(); ++i) {
    if (labels.bytes[i] >= kNumClasses)
      throw IoError(fmt::format("{}: label at index {} is {}, outside the {} classes 0..{}",
                                labels_path.string(), i, labels.bytes[i], kNumClasses, kNumClasses - 1));
  }

  ImageDataset dataset;
  dataset.count = images.dims[0];
  dataset.rows = images.dims[1];
  dataset.cols = images.dims[2];
  dataset.pixels = std::move(images.bytes);
  dataset.labels = std::move(labels.bytes);
  dataset.num_classes = kNumClasses;
  dataset.name = fmt::format("{}/{}", dataset_name(dir), to_string(split));
  return dataset;
}

fs::path default_data_dir(std::string_view dataset) {
  if (dataset == "mnist") {
    const char* env = std::getenv("BEND_DATA_DIR");
    if (env != nullptr && *env != '\0') return fs::path(env);
    return fs::path("data") / "mnist";
  }
  if (dataset == "fashion") return fs::path(kFashionDir);
  throw ValueError(fmt::format("unknown dataset \"{}\"; valid datasets are: mnist, fashion", dataset));
}

}  // namespace bend
