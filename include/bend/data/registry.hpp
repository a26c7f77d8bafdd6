#pragma once
// The dataset registry: one entry per dataset bend can load, and the only place that knows its name,
// class count, sample shape, default location and how to get it. The CLI's flags and help, the
// validators, the trainer, the lab, the bench and the tests all read it; adding a dataset means adding
// one entry in src/data/registry.cpp.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/data/mnist.hpp"
#include "bend/data/text.hpp"

namespace bend {

struct DatasetEntry {
  std::string name;                       // "mnist", "fashion", "emnist-letters", ...
  std::string summary;                    // one line for help texts
  int num_classes;                        // labels are 0..num_classes-1 after loading
  std::vector<std::int64_t> input_shape;  // one sample, e.g. {1, 28, 28}
  std::function<std::filesystem::path()> default_dir;
  std::string fetch_hint;  // what to run/install when the files are missing
  // Reads one split from `dir`, with labels already in 0..num_classes-1. Throws bend::IoError on
  // missing or malformed files (the message includes fetch_hint when files are missing).
  // Text datasets (language models, `bend train --model gpt`) have no classes or sample shape: load
  // throws ValueError saying so, and load_text reads the corpus from `dir` with the vocabulary (characters
  // or words, bend/data/text.hpp) that the options ask for.
  std::function<TensorDataset(const std::filesystem::path& dir, Split split)> load;
  std::function<TextCorpus(const std::filesystem::path& dir, const VocabOptions&)>
      load_text;  // null for image datasets
  bool is_text() const { return static_cast<bool>(load_text); }

  // Product of input_shape: the width of a model's input layer (784 for 28x28 images).
  std::int64_t input_features() const;
};

// Every dataset, in the order help texts list them: the image datasets, then the text datasets.
const std::vector<DatasetEntry>& dataset_registry();

// The entry called `name`. Throws bend::ValueError naming it and listing the valid names.
const DatasetEntry& find_dataset(std::string_view name);

// "mnist, fashion, emnist-letters, ..." for messages and flag help.
std::string dataset_names();

// Loads one split of a registered dataset from `dir` (empty: entry.default_dir()). Checks that the
// labels are below entry.num_classes and that the images have entry.input_shape (bend::IoError
// naming the directory otherwise). The result is named "<name>/<train|test>". Unknown names throw
// bend::ValueError (see find_dataset).
TensorDataset load_dataset(std::string_view name, const std::filesystem::path& dir, Split split);

// The corpus of a registered text dataset from `dir` (empty: the entry's default directory). ValueError
// for an unknown name or an image dataset, IoError for missing or malformed files.
TextCorpus load_text_dataset(std::string_view name, const std::filesystem::path& dir,
                             const VocabOptions& vocab = {});

}  // namespace bend
