// bend lab output-activations: a binary task from MNIST with a sigmoid output and BCE-with-logits
// against a 2-class softmax, and sigmoid hidden layers against ReLU (see bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/optim/adam.hpp"
#include "claim_charts.hpp"
#include "claim_training.hpp"

namespace bend::lab {

namespace {

// The verdict. Binary output: sigmoid + BCE-with-logits ends within kBinarySamePoints of the 2-class softmax
// (the two are one model: softmax([z0, z1])[1] = σ(z1 − z0), checked on the test outputs to
// kSoftmaxSigmoidTolerance). Hidden layers: the sigmoid MLP ends at least kSigmoidHiddenWorsePoints below the
// same MLP with ReLU.
constexpr double kBinarySamePoints = 1.0;
constexpr double kSoftmaxSigmoidTolerance = 1e-6;
constexpr double kSigmoidHiddenWorsePoints = 1.0;

// 1 for digits 5-9, 0 for 0-4.
std::vector<std::int32_t> digit_at_least_5(const TensorDataset& d) {
  std::vector<std::int32_t> out;
  for (std::int32_t l : d.labels) out.push_back(l >= 5 ? 1 : 0);
  return out;
}

struct BinaryOutputRun {
  std::vector<double> accuracy;  // test, per epoch
  Tensor test_outputs;           // logits [N, 1] or [N, 2]
};

BinaryOutputRun train_binary_output(const OutputActivationsSettings& s, std::uint64_t seed,
                                    bool sigmoid_output, const TensorDataset& train,
                                    const std::vector<std::int32_t>& train_labels, const TensorDataset& test,
                                    const std::vector<std::int32_t>& test_labels) {
  Rng rng(seed);
  nn::Sequential net =
      nn::build_model(nn::ModelSpec::mlp({train.features(), s.hidden, sigmoid_output ? 1 : 2}, "relu"),
                      nn::init::Scheme::Auto, rng);
  Tensor targets = Tensor::empty(Shape{train.size(), 1});
  for (std::int64_t i = 0; i < train.size(); ++i)
    targets.data()[i] = static_cast<float>(train_labels[static_cast<std::size_t>(i)]);
  optim::Adam opt(net.parameters(), s.lr);
  Rng order(seed + 1);
  BinaryOutputRun run;
  std::vector<std::int32_t> batch_labels;
  for (std::int64_t e = 0; e < s.epochs; ++e) {
    detail::train_epoch(opt, train.size(), s.batch, order, [&](std::span<const std::int64_t> rows) {
      const Tensor out = net.forward(index_select_rows(train.images, rows));
      if (sigmoid_output) return binary_cross_entropy_with_logits(out, index_select_rows(targets, rows));
      batch_labels.clear();
      for (std::int64_t r : rows) batch_labels.push_back(train_labels[static_cast<std::size_t>(r)]);
      return cross_entropy(out, batch_labels);
    });
    NoGradGuard no_grad;
    run.test_outputs = net.forward(test.images);
    std::int64_t correct = 0;
    const float* z = run.test_outputs.data();
    for (std::int64_t i = 0; i < test.size(); ++i) {
      const int predicted = sigmoid_output ? (z[i] > 0.0f ? 1 : 0) : (z[2 * i + 1] > z[2 * i] ? 1 : 0);
      correct += predicted == test_labels[static_cast<std::size_t>(i)] ? 1 : 0;
    }
    run.accuracy.push_back(static_cast<double>(correct) / static_cast<double>(test.size()));
  }
  return run;
}

}  // namespace

ClaimOutcome output_activations_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const OutputActivationsSettings& s = all.output_activations;
  const LabData data = limit_data(*mnist, s.data);
  const std::vector<std::int32_t> train_labels = digit_at_least_5(data.train),
                                  test_labels = digit_at_least_5(data.test);

  // Binary output.
  const BinaryOutputRun sig =
      train_binary_output(s, all.seed, true, data.train, train_labels, data.test, test_labels);
  const BinaryOutputRun soft =
      train_binary_output(s, all.seed, false, data.train, train_labels, data.test, test_labels);
  // softmax([z0, z1])[1] against σ(z1 − z0) on the softmax net's test logits.
  double identity_gap = 0;
  {
    NoGradGuard no_grad;
    const Tensor p = softmax(soft.test_outputs, 1);
    const float* z = soft.test_outputs.data();
    for (std::int64_t i = 0; i < p.size(0); ++i) {
      const double s1 = 1.0 / (1.0 + std::exp(-(static_cast<double>(z[2 * i + 1]) - z[2 * i])));
      identity_gap = std::max(identity_gap, std::fabs(p.data()[2 * i + 1] - s1));
    }
  }

  // Hidden layers: sigmoid against ReLU, 10 classes, the Trainer.
  TrainSettings train;
  train.lr = s.lr;
  train.batch = s.batch;
  train.epochs = s.epochs;
  train.seed = all.seed;
  std::vector<std::int64_t> sizes = {data.train.features()};
  for (std::int64_t h : s.hidden_sizes) sizes.push_back(h);
  sizes.push_back(data.train.num_classes);
  std::vector<TrainOutcome> hidden;
  for (const char* act : {"sigmoid", "relu"}) {
    Rng rng(all.seed);
    nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, act), nn::init::Scheme::Auto, rng);
    hidden.push_back(fit(net, data.train, data.test, train));
  }
  const double sig_hidden = hidden[0].diverged ? 0.0 : hidden[0].final_test_accuracy();
  const double relu_hidden = hidden[1].diverged ? 0.0 : hidden[1].final_test_accuracy();

  ClaimOutcome o;
  o.set("sigmoid_bce_accuracy", sig.accuracy.back());
  o.set("softmax2_accuracy", soft.accuracy.back());
  o.set("softmax_sigmoid_identity_gap", identity_gap);
  o.set("sigmoid_hidden_accuracy", sig_hidden);
  o.set("relu_hidden_accuracy", relu_hidden);
  const bool binary_ok = std::fabs(sig.accuracy.back() - soft.accuracy.back()) * 100 <= kBinarySamePoints &&
                         identity_gap <= kSoftmaxSigmoidTolerance;
  const bool hidden_worse = (relu_hidden - sig_hidden) * 100 >= kSigmoidHiddenWorsePoints;
  o.measured = fmt::format(
      "digit ≥ 5 vs < 5: sigmoid + BCE-with-logits {}, 2-class softmax {} (|softmax − σ(z1 − z0)| ≤ {:.1e}); "
      "10 classes, hidden layers {}: sigmoid {}, ReLU {}",
      pct(sig.accuracy.back()), pct(soft.accuracy.back()), identity_gap, fmt::join(s.hidden_sizes, "-"),
      pct(sig_hidden), pct(relu_hidden));
  o.threshold = fmt::format(
      "binary output: sigmoid + BCE within {:g} point(s) of the 2-class softmax, and softmax([z0, z1])[1] = "
      "σ(z1 − z0) to {:g}; hidden layers: sigmoid ≥ {:g} point(s) below ReLU",
      kBinarySamePoints, kSoftmaxSigmoidTolerance, kSigmoidHiddenWorsePoints);
  o.reproduced = binary_ok && hidden_worse;
  if (binary_ok && !hidden_worse)
    o.notes.push_back(
        fmt::format("\"Never use in hidden layers\" is too strong at this depth: {} hidden layers of sigmoid "
                    "train within "
                    "{:g} point(s) of ReLU. Sigmoid's cost shows with depth (see the vanishing and batchnorm "
                    "experiments).",
                    s.hidden_sizes.size(), kSigmoidHiddenWorsePoints));
  o.header = {"task", "net", "test accuracy per epoch"};
  auto epochs = [](const std::vector<double>& a) {
    std::vector<std::string> v;
    for (double x : a) v.push_back(pct(x));
    return fmt::format("{}", fmt::join(v, " / "));
  };
  o.rows.push_back({"binary (digit ≥ 5)", fmt::format("784-{}-1, sigmoid output + BCE-with-logits", s.hidden),
                    epochs(sig.accuracy)});
  o.rows.push_back({"binary (digit ≥ 5)", fmt::format("784-{}-2, softmax + cross-entropy", s.hidden),
                    epochs(soft.accuracy)});
  o.rows.push_back({"10 classes", fmt::format("{} sigmoid hidden layers", fmt::join(sizes, "-")),
                    hidden[0].diverged ? "diverged" : epochs(hidden[0].test_accuracy)});
  o.rows.push_back({"10 classes", fmt::format("{} ReLU hidden layers", fmt::join(sizes, "-")),
                    hidden[1].diverged ? "diverged" : epochs(hidden[1].test_accuracy)});
  o.notes.push_back(fmt::format(
      "{} MNIST training images, {} test images; Adam lr {:g}, batch {}, {} epochs; ReLU hidden layers in "
      "the binary nets; He init for ReLU, Xavier for sigmoid (bend's auto init).",
      data.train.size(), data.test.size(), s.lr, s.batch, s.epochs));
  plot::LineChart binary = chart("Binary task (digit ≥ 5): test accuracy", "epoch", "test accuracy (%)");
  binary.series.push_back(
      series("sigmoid output + BCE-with-logits", one_to(sig.accuracy.size()), percent(sig.accuracy), 0));
  binary.series.push_back(
      series("2-class softmax + cross-entropy", one_to(soft.accuracy.size()), percent(soft.accuracy), 1));
  plot::LineChart hid = chart("10 classes: sigmoid against ReLU hidden layers", "epoch", "test accuracy (%)");
  hid.series.push_back(series("sigmoid hidden layers", one_to(hidden[0].test_accuracy.size()),
                              percent(hidden[0].test_accuracy), 2));
  hid.series.push_back(series("ReLU hidden layers", one_to(hidden[1].test_accuracy.size()),
                              percent(hidden[1].test_accuracy), 3));
  o.charts.push_back(svg_chart("binary.svg", "binary output: sigmoid against a 2-class softmax", binary));
  o.charts.push_back(svg_chart("hidden.svg", "sigmoid against ReLU in the hidden layers", hid));
  return o;
}

}  // namespace bend::lab
