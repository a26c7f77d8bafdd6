// evaluate(): results sized from the dataset's class count, and a clear error (not a buffer overrun)
// when the model's output width is a different number of classes.
#include <catch2/catch.hpp>

#include <cmath>

#include "bend/error.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/rng.hpp"
#include "bend/train/metrics.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using bend::TensorDataset;
using Catch::Contains;

namespace {

// `count` random 784-pixel images with labels cycling through 0..label_span-1, declared as having
// `classes` classes.
TensorDataset synthetic(std::int64_t count, int classes, int label_span) {
  bend::Rng rng(7);
  TensorDataset d;
  d.rows = 28;
  d.cols = 28;
  d.num_classes = classes;
  d.name = "synthetic/test";
  d.images = bend::Tensor::uniform(bend::Shape{count, 784}, 0.0f, 1.0f, rng);
  for (std::int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::int32_t>(i % label_span));
  return d;
}

bend::nn::Sequential linear_model(std::int64_t outputs) {
  bend::Rng rng(3);
  return bend::nn::Sequential{bend::nn::Linear(784, outputs, true, rng)};
}

}  // namespace

TEST_CASE("evaluate sizes its results from the dataset's classes", "[metrics]") {
  for (int classes : {3, 10, 26}) {
    INFO(classes << " classes");
    const TensorDataset data = synthetic(50, classes, classes);
    bend::nn::Sequential model = linear_model(classes);
    model.train(true);
    const bend::train::EvalResult r = bend::train::evaluate(model, data, 16, /*keep_probabilities=*/true);
    CHECK(model.is_training());  // the caller's mode comes back
    CHECK(r.num_classes == classes);
    CHECK(r.samples == 50);
    REQUIRE(r.confusion.size() == static_cast<std::size_t>(classes * classes));
    std::int64_t total = 0, diagonal = 0;
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p) {
        total += r.confusion[static_cast<std::size_t>(t * classes + p)];
        if (t == p) diagonal += r.confusion[static_cast<std::size_t>(t * classes + p)];
      }
    CHECK(total == 50);
    CHECK(r.accuracy == Approx(static_cast<double>(diagonal) / 50.0));
    REQUIRE(r.probabilities.size() == static_cast<std::size_t>(50 * classes));
    for (std::int64_t i = 0; i < 50; ++i) {
      double sum = 0.0;
      for (int k = 0; k < classes; ++k) sum += r.probabilities[static_cast<std::size_t>(i * classes + k)];
      CHECK(sum == Approx(1.0).epsilon(1e-5));
    }
    CHECK(std::isfinite(r.loss));
    CHECK(r.loss > 0.0);
  }
}

TEST_CASE("evaluate refuses a model whose outputs are not the dataset's classes", "[metrics]") {
  // 784-20 on 10 classes: predictions up to 19 used to index past the 10x10 confusion matrix and the
  // probability rows of 10.
  const TensorDataset ten = synthetic(40, 10, 10);
  bend::nn::Sequential wide = linear_model(20);
  wide.train(true);
  for (bool keep : {false, true}) {
    CHECK_THROWS_AS(bend::train::evaluate(wide, ten, 16, keep), bend::ValueError);
    CHECK_THROWS_WITH(bend::train::evaluate(wide, ten, 16, keep),
                      Contains("20 outputs") && Contains("synthetic/test has 10 classes"));
  }
  CHECK(wide.is_training());

  // 784-3 on 10-class labels that all happen to be < 3: nothing would fail on its own, yet the results
  // would be laid out for the wrong number of classes.
  const TensorDataset few_labels = synthetic(40, 10, 3);
  bend::nn::Sequential narrow = linear_model(3);
  CHECK_THROWS_WITH(bend::train::evaluate(narrow, few_labels, 16, true),
                    Contains("3 outputs") && Contains("10 classes"));
  // ... and with labels up to 9.
  CHECK_THROWS_WITH(bend::train::evaluate(narrow, ten), Contains("3 outputs") && Contains("10 classes"));
}

}  // namespace BEND_UNITY_ID
