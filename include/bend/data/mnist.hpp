#pragma once
// MNIST-style image classification datasets (MNIST, Fashion-MNIST, EMNIST): the image and label IDX
// files of one split, loaded and cross-checked into flat byte arrays.
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

// How an MNIST-style dataset names and stores its IDX files. The defaults describe MNIST and
// Fashion-MNIST; the dataset registry (bend/data/registry.hpp) fills one in per dataset.
struct IdxLayout {
  // Files are <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte, each plain or ".gz".
  std::string train_prefix = "train";
  std::string test_prefix = "t10k";
  int num_classes = 10;
  int first_label = 0;      // the stored label of class 0 (EMNIST letters store 1..26)
  bool transposed = false;  // images stored column-major (EMNIST); transposed on load to look upright
  std::string fetch_hint;   // appended to "file missing" errors; empty: none
};

// Loads the image and label IDX files of one split from `dir`. Checks images are 3-D, labels 1-D,
// the counts agree and every stored label is in [first_label, first_label + num_classes); labels
// come out shifted to 0..num_classes-1. Throws bend::IoError naming the file(s) and the problem;
// when files are missing the message ends with layout.fetch_hint.
ImageDataset load_image_dataset(const std::filesystem::path& dir, Split split, const IdxLayout& layout = {});

// Where a registered dataset lives by default (see DatasetEntry::default_dir): "mnist" ->
// $BEND_DATA_DIR if set, else "data/mnist"; "fashion" -> /usr/share/datasets/fashion-mnist. Any other
// name throws bend::ValueError listing the valid ones.
std::filesystem::path default_data_dir(std::string_view dataset);

}  // namespace bend
