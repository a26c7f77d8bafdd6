#pragma once
// Evaluation of a classifier on a dataset: loss, accuracy, per-class accuracy, confusion matrix, and
// optionally every sample's class probabilities.
#include <cstdint>
#include <vector>

#include "bend/data/loader.hpp"
#include "bend/nn/module.hpp"

namespace bend::train {

struct EvalResult {
  double loss = 0.0;      // mean cross-entropy
  double accuracy = 0.0;  // fraction correct
  std::int64_t samples = 0;
  int num_classes = 0;
  std::vector<std::int64_t> confusion;  // [true class][predicted class], row-major num_classes²
  std::vector<std::int32_t> predictions;
  std::vector<float> probabilities;  // [samples, num_classes] when asked for
  double class_accuracy(int c) const;
};

// Runs the model in eval mode without recording (restores the mode after), in batches.
EvalResult evaluate(nn::Module& model, const TensorDataset& data, std::int64_t batch_size = 1000,
                    bool keep_probabilities = false);

// Index of the largest value of each row of logits [N, C].
void argmax_rows(const Tensor& logits, std::int32_t* out);

}  // namespace bend::train
