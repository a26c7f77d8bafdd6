// Diagnostics on hand-made layers whose answers are known: dead ReLUs, saturated sigmoids, healthy
// layers, and gradient norms that match a hand computation.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "bend/nn/activation.hpp"
#include "bend/nn/init.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/nn/transformer_encoder_layer.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"
#include "bend/train/diagnostics.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {

struct Probe {
  Tensor images;
  std::vector<std::int32_t> labels;
};

Probe make_probe(std::int64_t n, std::int64_t features, int classes, std::uint64_t seed) {
  Rng rng(seed);
  Probe p{Tensor::uniform({n, features}, 0.0f, 1.0f, rng), {}};
  for (std::int64_t i = 0; i < n; ++i) p.labels.push_back(static_cast<std::int32_t>(i % classes));
  return p;
}

// Linear(8 -> 16) -> activation -> Linear(16 -> 3), first layer with the given weight scale and bias.
nn::Sequential make_net(std::string_view act, float weight_scale, float bias, std::uint64_t seed = 1) {
  Rng rng(seed);
  nn::Linear first(8, 16, true, rng);
  nn::init::uniform_(first.weight, -weight_scale, weight_scale, rng);
  nn::init::constant_(first.bias, bias);
  nn::Linear out(16, 3, true, rng);
  return nn::Sequential{std::move(first), nn::Activation(act), std::move(out)};
}

}  // namespace

TEST_CASE("diagnostics: a bias of -100 before ReLU kills every unit", "[diagnostics]") {
  nn::Sequential net = make_net("relu", 0.5f, -100.0f);
  const Probe p = make_probe(64, 8, 3, 7);
  const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
  REQUIRE(d.layers.size() == 2);
  const auto& h = d.layers[0];
  CHECK(h.activation == "relu");
  CHECK(h.units == 16);
  CHECK(h.dead_units == 16);
  CHECK(h.dead_fraction == 1.0);
  CHECK(h.saturated_fraction == 1.0);  // f' = 0 everywhere is below any threshold
  CHECK(h.act_mean == 0.0);
  CHECK(h.act_std == 0.0);
  CHECK(h.pre_mean < -90.0);
  CHECK(h.weight_grad_norm == 0.0);            // no gradient flows through dead units
  CHECK(d.layers[1].weight_grad_norm == 0.0);  // ... and the output layer sees only zeros
  CHECK_FALSE(d.layers[1].has_activation());
  CHECK(d.hidden().size() == 1);
}

TEST_CASE("diagnostics: a ReLU layer with bias +100 has no dead or saturated units", "[diagnostics]") {
  nn::Sequential net = make_net("relu", 0.5f, 100.0f);
  const Probe p = make_probe(64, 8, 3, 7);
  const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
  CHECK(d.layers[0].dead_units == 0);
  CHECK(d.layers[0].saturated_fraction == 0.0);
  CHECK(d.layers[0].pre_mean > 90.0);
  CHECK(d.layers[0].act_mean == Approx(d.layers[0].pre_mean));
  CHECK(d.layers[0].weight_grad_norm > 0.0);
}

TEST_CASE("diagnostics: sigmoid with huge weights saturates", "[diagnostics]") {
  nn::Sequential net = make_net("sigmoid", 200.0f, 0.0f);
  const Probe p = make_probe(128, 8, 3, 3);
  const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
  CHECK(d.layers[0].activation == "sigmoid");
  CHECK(d.layers[0].saturated_fraction > 0.95);
  CHECK(d.layers[0].pre_std > 50.0);

  nn::Sequential mild = make_net("sigmoid", 0.1f, 0.0f);
  const train::Diagnostics m = train::diagnose(mild, p.images, p.labels);
  CHECK(m.layers[0].saturated_fraction == 0.0);
  CHECK(m.layers[0].dead_units == 0);
}

TEST_CASE("diagnostics: leaky ReLU is never dead even with bias -100", "[diagnostics]") {
  nn::Sequential net = make_net("leaky_relu", 0.5f, -100.0f);
  const Probe p = make_probe(32, 8, 3, 5);
  const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
  CHECK(d.layers[0].dead_units == 0);
  CHECK(d.layers[0].saturated_fraction == 1.0);  // slope 0.01 < 5% of 1
}

TEST_CASE("diagnostics: gradient norms match a hand computation and grads are left at zero",
          "[diagnostics]") {
  // One Linear: logits = x W^T + b. dL/dW = (softmax - onehot)^T x / N.
  Rng rng(11);
  nn::Linear only(4, 3, true, rng);
  nn::Sequential net{std::move(only)};
  const Probe p = make_probe(10, 4, 3, 2);
  auto* lin = net.get_if<nn::Linear>(0);
  const std::vector<float> w = lin->weight.to_vector(), b = lin->bias.to_vector(), x = p.images.to_vector();
  std::vector<double> g(12, 0.0);
  for (int s = 0; s < 10; ++s) {
    double z[3], mx = -1e300, sum = 0;
    for (int c = 0; c < 3; ++c) {
      z[c] = b[c];
      for (int k = 0; k < 4; ++k) z[c] += w[c * 4 + k] * x[s * 4 + k];
      mx = std::max(mx, z[c]);
    }
    for (double& v : z) sum += std::exp(v - mx);
    for (int c = 0; c < 3; ++c) {
      const double delta = std::exp(z[c] - mx) / sum - (p.labels[s] == c ? 1.0 : 0.0);
      for (int k = 0; k < 4; ++k) g[c * 4 + k] += delta * x[s * 4 + k] / 10.0;
    }
  }
  double norm = 0;
  for (double v : g) norm += v * v;
  net.train();
  const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
  CHECK(d.layers[0].weight_grad_norm == Approx(std::sqrt(norm)).epsilon(1e-4));
  CHECK(d.grad_norm_ratio == Approx(1.0));
  CHECK(net.is_training());  // mode restored
  for (float v : lin->weight.grad().span()) CHECK(v == 0.0f);
}

TEST_CASE("diagnostics: deep sigmoid gradients vanish, deep ReLU gradients do not", "[diagnostics]") {
  auto deep = [](std::string_view act) {
    Rng rng(5);
    nn::Sequential net;
    std::int64_t in = 16;
    for (int i = 0; i < 12; ++i) {
      nn::Linear l(in, 32, true, rng);
      nn::init::init_linear(l, nn::init::Scheme::Auto, &activation(act), rng);
      net.push_back(std::move(l));
      net.push_back(nn::Activation(act));
      in = 32;
    }
    nn::Linear out(in, 4, true, rng);
    nn::init::init_linear(out, nn::init::Scheme::Auto, nullptr, rng);
    net.push_back(std::move(out));
    return net;
  };
  const Probe p = make_probe(64, 16, 4, 9);
  nn::Sequential sig = deep("sigmoid"), rel = deep("relu");
  const train::Diagnostics ds = train::diagnose(sig, p.images, p.labels);
  const train::Diagnostics dr = train::diagnose(rel, p.images, p.labels);
  REQUIRE(ds.hidden().size() == 12);
  CHECK(ds.grad_norm_ratio < 1e-3);
  CHECK(dr.grad_norm_ratio > 1e-1);
  CHECK(ds.layers.front().weight_grad_norm * 1e3 < dr.layers.front().weight_grad_norm);
}

TEST_CASE("diagnostics: probe_batch and the dataset overload", "[diagnostics]") {
  const Probe p = make_probe(20, 8, 3, 4);
  TensorDataset data{p.images, p.labels, 2, 4, 3, "synthetic"};
  CHECK(train::probe_batch(data, 5).size() == 5);
  CHECK(train::probe_batch(data, 500).size() == 20);
  nn::Sequential net = make_net("tanh", 0.5f, 0.0f);
  const train::Diagnostics d = train::diagnose(net, data, 8);
  CHECK(d.probe_samples == 8);
  CHECK(d.layers[0].activation == "tanh");
  CHECK(std::isfinite(d.probe_loss));
}

TEST_CASE("diagnostics: DiagnosticsObserver measures at init and after every epoch of a Trainer",
          "[diagnostics]") {
  Rng rng(8);
  TensorDataset data;
  data.images = Tensor::uniform({96, 16}, 0.0f, 1.0f, rng);
  for (int i = 0; i < 96; ++i) data.labels.push_back(i % 3);
  data.rows = data.cols = 4;
  data.num_classes = 3;
  train::TrainConfig config;
  config.epochs = 2;
  config.batch = 32;
  config.threads = 1;
  train::Trainer trainer(config,
                         train::model_source(nn::ModelSpec::parse("16-8-3", "relu"), nn::init::Scheme::Torch),
                         data, data);
  struct Counter : train::TrainObserver {
    int epochs = 0;
    void on_epoch(const train::EpochMetrics&) override { ++epochs; }
  } counter;
  std::vector<std::int64_t> seen;
  train::DiagnosticsObserver diag(&counter, 40, [&](std::int64_t epoch, const train::Diagnostics& d) {
    seen.push_back(epoch);
    CHECK(d.probe_samples == 40);
  });
  trainer.run(&diag);
  CHECK(counter.epochs == 2);  // events forwarded
  CHECK(seen == std::vector<std::int64_t>{0, 1, 2});
  CHECK(diag.per_epoch().size() == 2);
  CHECK(diag.initial().layers.size() == 2);
  const std::string text = train::format_diagnostics(diag.per_epoch().back());
  CHECK(text.find("relu") != std::string::npos);
  CHECK(text.find("grad norm ratio") != std::string::npos);
}

TEST_CASE("diagnostics: a module with its own forward gets the weight-gradient norm of each Linear",
          "[diagnostics]") {
  struct TwoLayer : nn::Module {
    TwoLayer() {
      fc1 = register_module("fc1", std::make_shared<nn::Linear>(6, 5));
      fc2 = register_module("fc2", std::make_shared<nn::Linear>(5, 3));
    }
    Tensor forward(const Tensor& x) override { return (*fc2)(tanh((*fc1)(x))); }
    std::string type_name() const override { return "TwoLayer"; }
    std::shared_ptr<nn::Linear> fc1, fc2;
  };
  manual_seed(2);
  TwoLayer net;
  Rng rng(3);
  const Tensor images = Tensor::uniform({8, 6}, -1.0f, 1.0f, rng);
  const std::vector<std::int32_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
  const train::Diagnostics d = train::diagnose(net, images, labels);
  REQUIRE(d.layers.size() == 2);
  CHECK(d.layers[0].units == 5);
  CHECK(d.layers[1].units == 3);
  CHECK(d.layers[0].weight_grad_norm > 0);
  CHECK(d.layers[1].weight_grad_norm > 0);
  CHECK(d.grad_norm_ratio == Approx(d.layers[0].weight_grad_norm / d.layers[1].weight_grad_norm));
  CHECK_FALSE(d.layers[0].has_activation());
  // The same gradient as a direct backward pass, and the parameters' gradients are left at zero.
  Tensor loss = bend::cross_entropy(net(images), labels);
  loss.backward();
  double norm = 0;
  for (float g : net.fc1->weight.grad().span()) norm += static_cast<double>(g) * g;
  CHECK(d.layers[0].weight_grad_norm == Approx(std::sqrt(norm)).epsilon(1e-5));
}

TEST_CASE("diagnostics: the feed-forward activations inside transformer blocks are measured",
          "[diagnostics][vit]") {
  const Probe p = make_probe(16, 784, 10, 3);
  for (const char* act : {"relu", "swiglu"}) {
    INFO(act);
    const nn::ModelSpec spec = nn::ModelSpec::parse("1x28x28-patch7d16-cls-pos-tf2h2f32:blocks-tok0-10", act);
    Rng rng(4);
    nn::Sequential net = nn::build_model(spec, nn::init::Scheme::Torch, rng);
    auto& blocks = dynamic_cast<nn::Sequential&>(net[3]);
    // Block 0's feed-forward units all dead: its linear1 (the gate half for swiglu) far below zero.
    nn::init::constant_(blocks.get_if<nn::TransformerEncoderLayer>(0)->linear1->bias, -100.0f);
    const train::Diagnostics d = train::diagnose(net, p.images, p.labels);
    REQUIRE(d.layers.size() == 3);  // each block's linear1, then the head
    REQUIRE(d.hidden().size() == 2);
    CHECK(d.layers[0].activation == act);
    CHECK(d.layers[1].activation == act);
    CHECK_FALSE(d.layers[2].has_activation());
    CHECK(d.layers[0].units == 32);
    CHECK(d.layers[0].pre_mean < -90.0);
    if (std::string(act) == "relu") {
      CHECK(d.layers[0].dead_units == 32);
      CHECK(d.layers[0].weight_grad_norm == 0.0);  // nothing flows back through dead units
    } else {
      CHECK(d.layers[0].saturated_fraction == 1.0);  // silu' at -100 is ~0
    }
    CHECK(d.layers[1].dead_units < 32);
    CHECK(d.layers[1].weight_grad_norm > 0.0);
    CHECK(d.layers[2].weight_grad_norm > 0.0);
    // The probes are removed again.
    CHECK_FALSE(blocks.get_if<nn::TransformerEncoderLayer>(1)->feed_forward_probe);
  }
}
}  // namespace BEND_UNITY_ID
