// The dataset registry: MNIST, Fashion-MNIST and EMNIST's IDX-format splits, and the fortunes text, one
// entry each.
#include "bend/data/registry.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend {
namespace {

namespace fs = std::filesystem;

// $variable when set and non-empty, else `fallback`.
fs::path env_or(const char* variable, const fs::path& fallback) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? fs::path(value) : fallback;
}

// An entry whose files are MNIST-style IDX files described by `layout`; 28x28 grey images.
DatasetEntry idx_entry(std::string name, std::string summary, std::function<fs::path()> default_dir,
                       IdxLayout layout) {
  DatasetEntry e;
  e.name = std::move(name);
  e.summary = std::move(summary);
  e.num_classes = layout.num_classes;
  e.input_shape = {1, 28, 28};
  e.default_dir = std::move(default_dir);
  e.fetch_hint = layout.fetch_hint;
  e.load = [layout](const fs::path& dir, Split split) {
    return to_tensor_dataset(load_image_dataset(dir, split, layout));
  };
  return e;
}

constexpr const char* kEmnistHint =
    "EMNIST is not downloadable by bend: get 'gzip.zip' (the IDX 'Binary format as the original MNIST "
    "dataset') from https://www.nist.gov/itl/products-and-services/emnist-dataset and unzip the files of "
    "its gzip/ folder into data/emnist (or set BEND_EMNIST_DIR to where they are)";

// One of EMNIST's splits: files emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte(.gz), all
// splits in one directory, images stored transposed.
DatasetEntry emnist_entry(const std::string& split, std::string summary, int num_classes, int first_label) {
  IdxLayout layout;
  layout.train_prefix = "emnist-" + split + "-train";
  layout.test_prefix = "emnist-" + split + "-test";
  layout.num_classes = num_classes;
  layout.first_label = first_label;
  layout.transposed = true;
  layout.fetch_hint = kEmnistHint;
  return idx_entry(
      "emnist-" + split, std::move(summary),
      [] { return env_or("BEND_EMNIST_DIR", fs::path("data") / "emnist"); }, std::move(layout));
}

std::vector<DatasetEntry> make_registry() {
  std::vector<DatasetEntry> r;
  IdxLayout mnist;
  mnist.fetch_hint =
      "run data/fetch-mnist.sh to download MNIST (or set BEND_DATA_DIR to a directory that holds it)";
  r.push_back(idx_entry(
      "mnist", "handwritten digits 0-9 (60000 train / 10000 test)",
      [] { return env_or("BEND_DATA_DIR", fs::path("data") / "mnist"); }, mnist));
  IdxLayout fashion;
  fashion.fetch_hint = "install Fashion-MNIST with: apt-get install dataset-fashion-mnist";
  r.push_back(idx_entry(
      "fashion", "Fashion-MNIST: 10 kinds of clothing (60000 train / 10000 test)",
      [] { return fs::path("/usr/share/datasets/fashion-mnist"); }, fashion));
  // Class counts and label ranges as EMNIST's paper and mapping files give them; only "letters" does
  // not start at 0 (its labels are 1..26 for a..z).
  r.push_back(
      emnist_entry("letters", "EMNIST letters a-z, upper and lower case merged (124800 / 20800)", 26, 1));
  r.push_back(
      emnist_entry("balanced", "EMNIST balanced: digits and 37 letter classes (112800 / 18800)", 47, 0));
  r.push_back(emnist_entry("digits", "EMNIST digits 0-9 (240000 / 40000)", 10, 0));
  r.push_back(emnist_entry("mnist", "EMNIST's MNIST-sized digit set (60000 / 10000)", 10, 0));
  r.push_back(
      emnist_entry("byclass", "EMNIST by class: digits, A-Z and a-z (697932 / 116323, unbalanced)", 62, 0));
  r.push_back(emnist_entry("bymerge", "EMNIST by merge: 47 classes, similar letters merged (697932 / 116323)",
                           47, 0));
  // Text: fortune-mod's English data files (Debian's fortunes and fortunes-min), about 2.5 MB.
  DatasetEntry fortunes;
  fortunes.name = "fortunes";
  fortunes.summary = "text: fortune-mod's fortune files concatenated (about 2.5 MB; --model gpt)";
  fortunes.num_classes = 0;
  fortunes.default_dir = default_fortunes_dir;
  fortunes.fetch_hint = "install the fortune files with: apt-get install fortunes fortunes-min";
  fortunes.load = [](const fs::path&, Split) -> TensorDataset {
    throw ValueError("fortunes is a text dataset: train a language model on it with --model gpt");
  };
  fortunes.load_text = [](const fs::path& dir, const VocabOptions& vocab) {
    return load_fortunes(dir, vocab);
  };
  r.push_back(std::move(fortunes));
  return r;
}

}  // namespace

std::int64_t DatasetEntry::input_features() const {
  std::int64_t n = 1;
  for (std::int64_t d : input_shape) n *= d;
  return n;
}

const std::vector<DatasetEntry>& dataset_registry() {
  static const std::vector<DatasetEntry> registry = make_registry();
  return registry;
}

std::string dataset_names() {
  std::string out;
  for (const DatasetEntry& e : dataset_registry()) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

const DatasetEntry& find_dataset(std::string_view name) {
  for (const DatasetEntry& e : dataset_registry())
    if (e.name == name) return e;
  throw ValueError(fmt::format("unknown dataset \"{}\"; valid datasets are: {}", name, dataset_names()));
}

TensorDataset load_dataset(std::string_view name, const fs::path& dir, Split split) {
  const DatasetEntry& entry = find_dataset(name);
  const fs::path where = dir.empty() ? entry.default_dir() : dir;
  TensorDataset out = entry.load(where, split);
  // The entry is the authority on what a sample and a label are; a loader that disagrees, or files of
  // another dataset in the directory, must not reach a model sized from the entry.
  if (entry.input_shape.size() != 3 || out.rows != entry.input_shape[1] || out.cols != entry.input_shape[2])
    throw IoError(fmt::format("{}: {} images are {}x{} but {} samples have shape [{}]", where.string(),
                              to_string(split), out.rows, out.cols, entry.name,
                              fmt::join(entry.input_shape, ", ")));
  for (std::size_t i = 0; i < out.labels.size(); ++i)
    if (out.labels[i] < 0 || out.labels[i] >= entry.num_classes)
      throw IoError(fmt::format("{}: {} label at index {} is {}, outside {}'s {} classes", where.string(),
                                to_string(split), i, out.labels[i], entry.name, entry.num_classes));
  out.num_classes = entry.num_classes;
  out.name = fmt::format("{}/{}", entry.name, to_string(split));
  return out;
}

TextCorpus load_text_dataset(std::string_view name, const fs::path& dir, const VocabOptions& vocab) {
  const DatasetEntry& entry = find_dataset(name);
  if (!entry.is_text())
    throw ValueError(
        fmt::format("{} is an image dataset, not text: a language model needs a text dataset "
                    "(fortunes) or --text FILE",
                    entry.name));
  return entry.load_text(dir.empty() ? entry.default_dir() : dir, vocab);
}

}  // namespace bend
