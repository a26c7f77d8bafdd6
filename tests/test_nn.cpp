// Modules: Linear, Sequential naming and summary, state dicts, init, Dropout, SwiGLU, PReLU, MLP specs,
// save/load, and the XOR/linear-collapse facts from the docs.
#include <catch2/catch.hpp>

#include <filesystem>

#include "bend/bend.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::nn;
using bend::testing::require_gradcheck;

TEST_CASE("Linear has PyTorch's layout, names and default init bounds", "[nn]") {
  Rng rng(1);
  Linear fc(784, 256, true, rng);
  CHECK(fc.weight.shape() == Shape{256, 784});
  CHECK(fc.bias.shape() == Shape{256});
  auto named = fc.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[1].first == "bias");
  CHECK(fc.num_parameters() == 784 * 256 + 256);
  // kaiming_uniform(a=√5): bound = √(6/((1+5)·fan_in)) = 1/√fan_in; bias bound also 1/√fan_in.
  const float bound = 1.0f / std::sqrt(784.0f);
  float wmax = 0, bmax = 0;
  double sum_sq = 0;
  for (float v : fc.weight.span()) wmax = std::max(wmax, std::abs(v)), sum_sq += v * v;
  for (float v : fc.bias.span()) bmax = std::max(bmax, std::abs(v));
  CHECK(wmax <= bound);
  CHECK(wmax > 0.99f * bound);
  CHECK(bmax <= bound);
  // The variance of U(-b, b) is b²/3.
  CHECK(sum_sq / fc.weight.numel() == Approx(bound * bound / 3).epsilon(0.02));
  CHECK(fc.describe() == "Linear(in_features=784, out_features=256, bias=True)");
  Linear nobias(3, 2, false, rng);
  CHECK_FALSE(nobias.bias.defined());
  CHECK(nobias.named_parameters().size() == 1);
  CHECK_THROWS_AS(Linear(0, 3), ValueError);
}

TEST_CASE("Sequential names children 0, 1, ... like nn.Sequential", "[nn]") {
  manual_seed(0);
  Sequential net{Linear(784, 256), ReLU(), Linear(256, 128), GELU(), Linear(128, 10)};
  std::vector<std::string> names;
  for (auto& [n, t] : net.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
  CHECK(net.num_parameters() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  net.push_back(LogSoftmax(1));
  CHECK(net.size() == 6);
  const std::string s = net.summary({1, 784});
  CHECK_THAT(s, Catch::Contains("Linear(in_features=784, out_features=256, bias=True)"));
  CHECK_THAT(s, Catch::Contains("[1, 256]"));
  CHECK_THAT(s, Catch::Contains("200,960"));
  CHECK_THAT(s, Catch::Contains("Total parameters: 235,146"));
  CHECK_THAT(s, Catch::Contains("GELU"));
  CHECK_THAT(net.describe(), Catch::StartsWith("Sequential(\n  (0): Linear("));
  Tensor out = net(Tensor::zeros({3, 784}));
  CHECK(out.shape() == Shape{3, 10});
  tape().clear();
}

TEST_CASE("state dicts load strictly with clear errors", "[nn]") {
  Rng rng(2);
  Sequential a{Linear(4, 3, true, rng), Tanh(), Linear(3, 2, true, rng)};
  Sequential b{Linear(4, 3, true, rng), Tanh(), Linear(3, 2, true, rng)};
  b.load_state_dict(a.state_dict());
  CHECK(b.named_parameters()[0].second.to_vector() == a.named_parameters()[0].second.to_vector());
  CHECK(b.named_parameters()[0].second.data() !=
        a.named_parameters()[0].second.data());  // copied, not shared
  auto sd = a.state_dict();
  sd.pop_back();
  CHECK_THROWS_WITH(b.load_state_dict(sd), Catch::Contains("Missing key(s): 2.bias"));
  b.load_state_dict(sd, /*strict=*/false);
  auto extra = a.state_dict();
  extra.emplace_back("9.weight", Tensor::zeros({1}));
  CHECK_THROWS_WITH(b.load_state_dict(extra), Catch::Contains("Unexpected key(s): 9.weight"));
  auto wrong = a.state_dict();
  wrong[0].second = Tensor::zeros({3, 5});
  CHECK_THROWS_WITH(b.load_state_dict(wrong),
                    Catch::Contains("size mismatch for 0.weight") && Catch::Contains("[3, 5]"));
}

TEST_CASE("gradcheck through every layer", "[nn][gradcheck]") {
  Rng rng(3);
  Tensor x = bend::testing::random_tensor({4, 5}, rng);
  Linear fc(5, 3, true, rng);
  require_gradcheck([&](const std::vector<Tensor>& v) { return fc(v[0]); }, {x, fc.weight, fc.bias});
  SwiGLU glu_block(5, 6, true, rng);
  auto p = glu_block.parameters();
  std::vector<Tensor> inputs = {x};
  inputs.insert(inputs.end(), p.begin(), p.end());
  require_gradcheck([&](const std::vector<Tensor>& v) { return glu_block(v[0]); }, inputs);
  CHECK(glu_block.named_parameters()[0].first == "gate_proj.weight");
  PReLU pr(5);
  pr.weight.fill_(0.3f);
  Tensor xs = x.detach().clone();
  for (float& v : xs.span()) v += v > 0 ? 0.1f : -0.1f;  // keep off the kink
  xs.requires_grad_();
  require_gradcheck([&](const std::vector<Tensor>& v) { return pr(v[0]); }, {xs, pr.weight});
  Sequential net{Linear(5, 4, true, rng), Tanh(), Linear(4, 2, true, rng), LogSoftmax(1)};
  auto np = net.parameters();
  std::vector<Tensor> all = {x};
  all.insert(all.end(), np.begin(), np.end());
  require_gradcheck([&](const std::vector<Tensor>& v) { return net(v[0]); }, all);
}

TEST_CASE("Dropout zeroes and rescales in training, passes through in eval", "[nn]") {
  Dropout drop(0.25f, 7);
  Tensor x = Tensor::ones({100, 100}).requires_grad_();
  Tensor y = drop(x);
  int zeros = 0;
  for (float v : y.span()) {
    if (v == 0.0f)
      ++zeros;
    else
      CHECK(v == Approx(1.0f / 0.75f));
  }
  CHECK(zeros / 10000.0 == Approx(0.25).margin(0.02));
  y.sum().backward();
  for (std::int64_t k = 0; k < y.numel(); ++k) CHECK(x.grad().data()[k] == y.data()[k]);
  drop.eval();
  CHECK(drop(x).same_as(x));
  CHECK_THROWS_AS(Dropout(1.5f), ValueError);
}

TEST_CASE("init schemes follow torch.nn.init", "[nn][init]") {
  CHECK(init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  CHECK(init::calculate_gain("leaky_relu", 0.2f) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(init::calculate_gain("selu") == Approx(0.75));
  CHECK(init::calculate_gain("sigmoid") == 1.0f);
  CHECK_THROWS_AS(init::calculate_gain("bogus"), ValueError);
  Rng rng(4);
  auto stddev = [](const Tensor& t) {
    double s = 0;
    for (float v : t.span()) s += v * v;
    return std::sqrt(s / t.numel());
  };
  Tensor w = Tensor::empty({400, 500});
  init::kaiming_normal_(w, rng, 0, init::FanMode::FanIn, "relu");
  CHECK(stddev(w) == Approx(std::sqrt(2.0 / 500)).epsilon(0.02));
  init::kaiming_uniform_(w, rng, 0, init::FanMode::FanOut, "relu");
  CHECK(stddev(w) == Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  init::xavier_uniform_(w, rng);
  CHECK(stddev(w) == Approx(std::sqrt(2.0 / 900)).epsilon(0.02));
  init::xavier_normal_(w, rng, 5.0f / 3.0f);
  CHECK(stddev(w) == Approx(5.0 / 3.0 * std::sqrt(2.0 / 900)).epsilon(0.02));
  init::lecun_normal_(w, rng);
  CHECK(stddev(w) == Approx(std::sqrt(1.0 / 500)).epsilon(0.02));
  CHECK(init::parse_scheme("glorot") == init::Scheme::Xavier);
  CHECK_THROWS_WITH(init::parse_scheme("nope"), Catch::Contains("auto, he, xavier, lecun, torch"));

  // auto: He before ReLU, LeCun before SELU, Xavier before tanh; biases zero.
  Linear fc(500, 400, true, rng);
  init::init_linear(fc, init::Scheme::Auto, &activation("relu"), rng);
  CHECK(stddev(fc.weight) == Approx(std::sqrt(2.0 / 500)).epsilon(0.02));
  CHECK(fc.bias.to_vector() == std::vector<float>(400, 0.0f));
  init::init_linear(fc, init::Scheme::Auto, &activation("selu"), rng);
  CHECK(stddev(fc.weight) == Approx(std::sqrt(1.0 / 500)).epsilon(0.02));
  init::init_linear(fc, init::Scheme::Auto, &activation("tanh"), rng);
  CHECK(stddev(fc.weight) == Approx(5.0 / 3.0 * std::sqrt(2.0 / 900)).epsilon(0.02));
}

TEST_CASE("MLP specs parse, build and validate", "[nn][mlp]") {
  const ModelSpec spec = ModelSpec::parse("784-256-128-10", "gelu");
  CHECK(spec.input == std::vector<std::int64_t>{784});
  CHECK(spec.outputs() == 10);
  CHECK(spec.activations == std::vector<std::string>{"gelu", "gelu"});
  CHECK(spec.act_string() == "gelu,gelu");
  CHECK(ModelSpec::parse("4-3-2", "swish").activations[0] == "silu");
  CHECK(ModelSpec::parse("4-3-3-2", "relu,tanh").activations[1] == "tanh");
  CHECK_THROWS_WITH(ModelSpec::parse("784-x-10", "relu"), Catch::Contains("'x'"));
  CHECK_THROWS_WITH(ModelSpec::parse("784", "relu"), Catch::Contains("at least"));
  CHECK_THROWS_WITH(ModelSpec::parse("4-3-3-2", "relu,tanh,gelu"), Catch::Contains("3 names for 2 hidden"));
  CHECK_THROWS_AS(ModelSpec::parse("4-3-2", "nonsense"), ValueError);
  Rng rng(5);
  Sequential net = build_model(ModelSpec::mlp({6, 5, 4, 3}, "prelu,swiglu", 0.1f), init::Scheme::Auto, rng);
  std::vector<std::string> names;
  for (auto& [n, t] : net.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "3.gate_proj.weight",
                                          "3.gate_proj.bias", "3.up_proj.weight", "3.up_proj.bias",
                                          "5.weight", "5.bias"});
  const ModelSpec round =
      ModelSpec::from_metadata(ModelSpec::mlp({6, 5, 4, 3}, "prelu,swiglu", 0.1f).to_metadata());
  CHECK(round.act_string() == "prelu,swiglu");
  CHECK(round.dropout == Approx(0.1f));
}

TEST_CASE("save and load a model: bit exact, atomic, metadata rebuilds it", "[nn][serialize]") {
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_serialize";
  std::filesystem::create_directories(dir);
  const auto path = dir / "model.safetensors";
  Rng rng(6);
  const ModelSpec spec = ModelSpec::parse("8-6-4", "tanh");
  Sequential net = build_model(spec, init::Scheme::Torch, rng);
  save_model(path, net, spec, {{"note", "hello"}});
  LoadedModel loaded = load_model(path);
  CHECK(loaded.spec.arch_string() == "8-6-4");
  CHECK(loaded.metadata.at("note") == "hello");
  auto a = net.named_parameters(), b = loaded.model.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(std::memcmp(a[i].second.data(), b[i].second.data(), a[i].second.numel() * sizeof(float)) == 0);
  }
  // A file without bend metadata needs the architecture from the caller.
  save_tensors(dir / "plain.safetensors", net.state_dict(), {});
  CHECK_THROWS_WITH(load_model(dir / "plain.safetensors"), Catch::Contains("--arch"));
  CHECK(load_model(dir / "plain.safetensors", spec).spec.arch_string() == "8-6-4");
  CHECK_THROWS_WITH(load_model(dir / "plain.safetensors", ModelSpec::parse("8-5-4", "tanh")),
                    Catch::Contains("size mismatch for 0.weight"));
  std::filesystem::remove_all(dir);
}

namespace {
// Trains a 2-4-1 net on XOR with full-batch gradient descent; returns the final MSE.
float train_xor(const std::string& act) {
  Rng rng(1);
  Tensor x = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  Tensor y = Tensor::from({0, 1, 1, 0}, {4, 1});
  Sequential net;
  net.push_back(Linear(2, 4, true, rng));
  if (!act.empty()) net.push_back(Activation(act));
  net.push_back(Linear(4, 1, true, rng));
  float loss_value = 0;
  for (int step = 0; step < 3000; ++step) {
    net.zero_grad();
    Tensor loss = mse_loss(net(x), y);
    loss.backward();
    loss_value = loss.item();
    NoGradGuard g;
    for (Tensor p : net.parameters())
      for (std::int64_t k = 0; k < p.numel(); ++k) p.data()[k] -= 0.2f * p.grad().data()[k];
  }
  return loss_value;
}
}  // namespace

TEST_CASE("XOR: solved with a nonlinearity, not without (the linear collapse)", "[nn][xor]") {
  CHECK(train_xor("tanh") < 0.01f);
  CHECK(train_xor("relu") < 0.01f);
  // The best linear fit of XOR predicts 0.5 everywhere: MSE 0.25.
  CHECK(train_xor("") == Approx(0.25f).margin(1e-3));
  // And a stack of linear layers is one linear map: multiply the weights out.
  Rng rng(2);
  Linear l1(3, 5, true, rng), l2(5, 4, true, rng), l3(4, 2, true, rng);
  Tensor x = Tensor::uniform({6, 3}, -1, 1, rng);
  NoGradGuard g;
  Tensor deep = l3(l2(l1(x)));
  Tensor w = matmul(l3.weight, matmul(l2.weight, l1.weight));                                  // [2, 3]
  Tensor b = linear(linear(l1.bias.reshape({1, 5}), l2.weight, l2.bias), l3.weight, l3.bias);  // [1, 2]
  Tensor flat = linear(x, w, b.reshape({2}));
  for (std::int64_t k = 0; k < deep.numel(); ++k)
    CHECK(deep.data()[k] == Approx(flat.data()[k]).margin(1e-5));
}

namespace {
// A module with a parameter, a buffer and a child, to check PyTorch's state_dict order and naming.
class WithBuffer : public Module {
 public:
  WithBuffer() {
    scale = register_parameter("scale", Tensor::full(Shape{2}, 1.0f));
    count = register_buffer("num_batches_tracked", Tensor::zeros(Shape{}));
    register_module("fc", std::make_shared<Linear>(2, 2));
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "WithBuffer"; }
  void add_buffer(const std::string& name) { register_buffer(name, Tensor::zeros(Shape{1})); }
  Tensor scale, count;
};
}  // namespace

TEST_CASE("Buffers are saved in state_dict under PyTorch's names, not trained", "[nn]") {
  WithBuffer m;
  const auto state = m.state_dict();
  REQUIRE(state.size() == 4);
  CHECK(state[0].first == "scale");
  CHECK(state[1].first == "num_batches_tracked");
  CHECK(state[2].first == "fc.weight");
  CHECK(state[3].first == "fc.bias");
  CHECK(m.named_parameters().size() == 3);
  REQUIRE(m.named_buffers().size() == 1);
  CHECK(m.named_buffers()[0].first == "num_batches_tracked");
  CHECK_FALSE(m.count.requires_grad());
  // load_state_dict fills buffers too, and insists on them when strict.
  WithBuffer other;
  auto changed = m.state_dict();
  changed[1].second = Tensor::full(Shape{}, 7.0f);
  other.load_state_dict(changed);
  CHECK(other.count.item() == 7.0f);
  changed.erase(changed.begin() + 1);
  CHECK_THROWS_WITH(other.load_state_dict(changed), Catch::Contains("num_batches_tracked"));
  CHECK_THROWS_AS(m.add_buffer("scale"), ValueError);
}

}  // namespace BEND_UNITY_ID
