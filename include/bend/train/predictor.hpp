#pragma once
// Batched inference with a classifier: the model in eval mode, no tape, images taken `batch_size` at a
// time into an input buffer that is reused, so that after the first batches (which fill the tensor
// caches) a call makes no heap allocation.
//
//   train::Predictor predictor(model, 256);
//   predictor.classify(images.data(), count, labels.data());  // images [count, features], row-major
#include <cstdint>

#include "bend/nn/module.hpp"
#include "bend/tensor.hpp"

namespace bend::train {

class Predictor {
 public:
  // Puts `model` in eval mode for the predictor's life (restored after). `features` is one image's
  // value count (the model's input, flattened); ValueError when batch_size or features is not positive.
  Predictor(nn::Module& model, std::int64_t features, std::int64_t batch_size);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // The class (argmax of the probabilities) of each of `count` images [count, features] into
  // labels[count]; with `probabilities` non-null, also each image's softmax row into
  // probabilities[count, classes]. ValueError when the model's output is not [rows, classes].
  void classify(const float* images, std::int64_t count, std::int32_t* labels,
                float* probabilities = nullptr);

  std::int64_t batch_size() const { return batch_size_; }
  // The model's output width, known after the first classify (0 before).
  std::int64_t classes() const { return classes_; }

 private:
  // The probabilities [rows, classes] of the first `rows` images in the input buffer of that size.
  Tensor run(Tensor& input, std::int64_t rows);

  nn::Module& model_;
  bool was_training_;
  std::int64_t features_, batch_size_, classes_ = 0;
  Tensor full_batch_;  // [batch_size, features], reused
  Tensor tail_batch_;  // [rows, features] for the last, shorter batch; reused while its size holds
};

}  // namespace bend::train
