#pragma once
// MNIST-style image classification datasets (MNIST, Fashion-MNIST): the image and label IDX files of
// one split, loaded and cross-checked into flat byte arrays.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bend {

enum class Split { Train, Test };

// "train" or "test".
std::string_view to_string(Split split);

// One split of an image dataset. Pixels are row-major [count, rows, cols], 0..255 as stored.
struct ImageDataset {
  std::int64_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols
  std::vector<std::uint8_t> labels;  // count, each < num_classes
  int num_classes = 10;
  std::string name;  // e.g. "mnist/train" (directory name / split)
};

// Loads <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte (prefix "train" or "t10k"), each
// plain or with ".gz", from `dir`. Checks images are 3-D, labels 1-D, the counts agree and every
// label is < 10. Throws bend::IoError naming the file(s) and the problem; when files are missing
// the message says how to get them.
ImageDataset load_image_dataset(const std::filesystem::path& dir, Split split);

// Where a dataset lives by default: "mnist" -> $BEND_DATA_DIR if set, else "data/mnist" (relative
// to the current directory); "fashion" -> /usr/share/datasets/fashion-mnist (Debian package
// dataset-fashion-mnist). Any other name throws bend::ValueError listing the valid ones.
std::filesystem::path default_data_dir(std::string_view dataset);

}  // namespace bend
