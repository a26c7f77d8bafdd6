// Predictor: batched classification in eval mode without a tape, reusing its input buffers.
#include "bend/train/predictor.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/train/metrics.hpp"

namespace bend::train {

Predictor::Predictor(nn::Module& model, std::int64_t features, std::int64_t batch_size)
    : model_(model), was_training_(model.is_training()), features_(features), batch_size_(batch_size) {
  if (features <= 0 || batch_size <= 0)
    throw ValueError(
        fmt::format("Predictor: features ({}) and batch_size ({}) must be positive", features, batch_size));
  model_.eval();
  full_batch_ = Tensor::empty({batch_size, features});
}

Predictor::~Predictor() { model_.train(was_training_); }

Tensor Predictor::run(Tensor& input, std::int64_t rows) {
  Tensor probabilities = softmax(model_(input), 1);
  if (probabilities.ndim() != 2 || probabilities.size(0) != rows)
    throw ValueError(
        fmt::format("Predictor: the model's output is {} for a batch of {} (expected [{}, classes])",
                    probabilities.shape().str(), rows, rows));
  classes_ = probabilities.size(1);
  return probabilities;
}

void Predictor::classify(const float* images, std::int64_t count, std::int32_t* labels,
                         float* probabilities) {
  NoGradGuard no_grad;
  for (std::int64_t begin = 0; begin < count; begin += batch_size_) {
    const std::int64_t rows = std::min(batch_size_, count - begin);
    Tensor* input = &full_batch_;
    if (rows != batch_size_) {
      if (!tail_batch_.defined() || tail_batch_.size(0) != rows)
        tail_batch_ = Tensor::empty({rows, features_});
      input = &tail_batch_;
    }
    std::copy_n(images + begin * features_, rows * features_, input->data());
    const Tensor p = run(*input, rows);
    argmax_rows(p, labels + begin);
    if (probabilities) std::copy_n(p.data(), p.numel(), probabilities + begin * classes_);
  }
}

}  // namespace bend::train
