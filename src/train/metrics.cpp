// evaluate(): loss, accuracy and confusion matrix over a dataset.
#include "bend/train/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"

namespace bend::train {

double EvalResult::class_accuracy(int c) const {
  std::int64_t total = 0;
  for (int p = 0; p < num_classes; ++p) total += confusion[static_cast<std::size_t>(c * num_classes + p)];
  return total ? static_cast<double>(confusion[static_cast<std::size_t>(c * num_classes + c)]) / total : 0.0;
}

void argmax_rows(const Tensor& logits, std::int32_t* out) {
  const std::int64_t n = logits.size(0), classes = logits.size(1);
  const float* p = logits.data();
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = p + i * classes;
    std::int32_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = static_cast<std::int32_t>(c);
    out[i] = best;
  }
}

EvalResult evaluate(nn::Module& model, const TensorDataset& data, std::int64_t batch_size,
                    bool keep_probabilities) {
  NoGradGuard no_grad;
  // Back to the caller's mode however this returns (a mismatch below throws mid-way).
  struct ModeRestore {
    nn::Module& model;
    bool was_training;
    ~ModeRestore() { model.train(was_training); }
  } restore{model, model.is_training()};
  model.eval();
  // Everything below is sized from the dataset's class count; a model whose output width differs
  // would index past the confusion matrix and the probability rows, so it is refused first.
  const std::int64_t classes = data.num_classes;
  if (classes < 1) throw ValueError(fmt::format("evaluate: {} has {} classes", data.name, classes));
  EvalResult r;
  r.num_classes = data.num_classes;
  r.samples = data.size();
  r.confusion.assign(static_cast<std::size_t>(classes * classes), 0);
  r.predictions.resize(static_cast<std::size_t>(data.size()));
  if (keep_probabilities) r.probabilities.resize(static_cast<std::size_t>(data.size() * classes));
  Rng unused(0);
  DataLoader loader(data, batch_size, /*shuffle=*/false, unused);
  loader.start_epoch();
  Batch batch;
  double loss_sum = 0.0;
  std::int64_t correct = 0, offset = 0;
  while (loader.next(batch)) {
    Tensor logits = model(batch.images);
    if (logits.ndim() != 2 || logits.size(0) != batch.size || logits.size(1) != classes)
      throw ValueError(
          fmt::format("evaluate: the model has {} outputs but {} has {} classes (output {} for a "
                      "batch of {})",
                      logits.ndim() == 2 ? logits.size(1) : logits.numel(), data.name, classes,
                      logits.shape().str(), batch.size));
    loss_sum += static_cast<double>(cross_entropy(logits, batch.labels, Reduction::Sum).item());
    std::int32_t* pred = r.predictions.data() + offset;
    argmax_rows(logits, pred);
    for (std::int64_t i = 0; i < batch.size; ++i) {
      const std::int32_t truth = batch.labels[static_cast<std::size_t>(i)];
      correct += pred[i] == truth;
      ++r.confusion[static_cast<std::size_t>(truth * classes + pred[i])];
    }
    if (keep_probabilities) {
      Tensor probs = softmax(logits, 1);
      std::copy_n(probs.data(), probs.numel(), r.probabilities.data() + offset * classes);
    }
    offset += batch.size;
  }
  r.loss = data.size() ? loss_sum / static_cast<double>(data.size()) : 0.0;
  r.accuracy = data.size() ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0.0;
  return r;
}

}  // namespace bend::train
