// alpha_dropout and nn::AlphaDropout: PyTorch's three values (a kept 0, a kept 1, a dropped element;
// numbers from scripts/torch_gaussian_nll_reference.py), the statistics that are its point (a
// standardised input keeps mean 0 and variance 1, also after SELU), the drop rate, eval mode, gradcheck
// and the --arch token.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "bend/bend.hpp"
#include "bend/nn/alpha_dropout.hpp"
#include "bend/nn/layer_table.hpp"
#include "bend/nn/model_spec.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using bend::testing::require_gradcheck;

namespace {

// From scripts/torch_gaussian_nll_reference.py (PyTorch 1.13).
// clang-format off
const std::vector<double> kTorch_alpha_dropout_p_kept0_kept1_dropped = {0.05, 0.08393557369709015, 1.0387800931930542, -1.5947757959365845, 0.1, 0.16197097301483154, 1.0832555294036865, -1.4577387571334839, 0.2, 0.3090399503707886, 1.187943458557129, -1.2361598014831543, 0.5, 0.7791939377784729, 1.6655988693237305, -0.7791939377784729};
// clang-format on

struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const Tensor& t) {
  Moments m;
  for (float v : t.span()) m.mean += v;
  m.mean /= static_cast<double>(t.numel());
  for (float v : t.span()) m.var += (v - m.mean) * (v - m.mean);
  m.var /= static_cast<double>(t.numel());
  return m;
}

}  // namespace

TEST_CASE("alpha_dropout: PyTorch's kept and dropped values", "[ops][alpha_dropout]") {
  const std::vector<double>& rows = kTorch_alpha_dropout_p_kept0_kept1_dropped;
  REQUIRE(rows.size() % 4 == 0);
  for (std::size_t r = 0; r < rows.size(); r += 4) {
    const auto p = static_cast<float>(rows[r]);
    INFO("p = " << p);
    const AlphaDropoutCoefficients c = alpha_dropout_coefficients(p);
    CHECK(c.b == Approx(rows[r + 1]).epsilon(1e-6));
    CHECK(c.a + c.b == Approx(rows[r + 2]).epsilon(1e-6));
    CHECK(c.dropped == Approx(rows[r + 3]).epsilon(1e-6));
    // The op gives exactly these values (a 0 or 1 input), and nothing else.
    Rng rng(3);
    const Tensor zeros = alpha_dropout(Tensor::zeros(Shape{1000}), p, true, rng);
    const Tensor ones = alpha_dropout(Tensor::full(Shape{1000}, 1.0f), p, true, rng);
    for (float v : zeros.span())
      CHECK((v == Approx(rows[r + 1]).epsilon(1e-6) || v == Approx(rows[r + 3]).epsilon(1e-6)));
    for (float v : ones.span())
      CHECK((v == Approx(rows[r + 2]).epsilon(1e-6) || v == Approx(rows[r + 3]).epsilon(1e-6)));
  }
}

TEST_CASE("alpha_dropout: keeps mean 0 and variance 1, drops p of the elements", "[ops][alpha_dropout]") {
  Rng data(11);
  const Tensor x = Tensor::normal(Shape{200000}, 0.0f, 1.0f, data);
  for (float p : {0.05f, 0.1f, 0.5f}) {
    INFO("p = " << p);
    Rng rng(4);
    const Tensor y = alpha_dropout(x, p, true, rng);
    const double dropped_value = alpha_dropout_coefficients(p).dropped;
    std::int64_t dropped = 0;
    for (float v : y.span()) dropped += std::fabs(v - dropped_value) < 1e-6 ? 1 : 0;
    CHECK(static_cast<double>(dropped) / 200000.0 == Approx(p).margin(0.005));
    const Moments m = moments(y);
    CHECK(m.mean == Approx(0.0).margin(0.01));
    CHECK(m.var == Approx(1.0).margin(0.02));
    // SELU's fixed point: selu of a standard normal has mean ≈ 0, variance ≈ 1, and so does its alpha
    // dropout.
    const Moments s = moments(alpha_dropout(selu(x), p, true, rng));
    CHECK(s.mean == Approx(0.0).margin(0.01));
    CHECK(s.var == Approx(1.0).margin(0.02));
  }
  // The identity in eval mode and for p = 0; zeros for p = 1; p outside [0, 1] throws.
  Rng rng(1);
  CHECK(alpha_dropout(x, 0.3f, false, rng).data() == x.data());
  CHECK(alpha_dropout(x, 0.0f, true, rng).data() == x.data());
  const Tensor all = alpha_dropout(x, 1.0f, true, rng);
  for (float v : all.span()) REQUIRE(v == 0.0f);
  CHECK_THROWS_WITH(alpha_dropout(x, 1.5f, true, rng), Catch::Contains("p must be in [0, 1]"));
}

TEST_CASE("alpha_dropout: gradient, module and --arch token", "[ops][alpha_dropout][nn]") {
  Rng init(2);
  const Tensor x = bend::testing::random_tensor(Shape{6, 5}, init);
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        Rng rng(9);  // the same mask on every call
        return alpha_dropout(v[0], 0.3f, true, rng);
      },
      {x});
  // The gradient is a on kept elements and 0 on dropped ones.
  {
    Rng rng(9);
    Tensor y = alpha_dropout(x, 0.3f, true, rng);
    sum(y).backward();
    const double a = alpha_dropout_coefficients(0.3f).a, dropped = alpha_dropout_coefficients(0.3f).dropped;
    for (std::int64_t k = 0; k < x.numel(); ++k) {
      const bool was_dropped = std::fabs(y.data()[k] - dropped) < 1e-6;
      CHECK(x.grad().data()[k] == Approx(was_dropped ? 0.0 : a));
    }
  }

  nn::AlphaDropout module(0.2f, 5);
  CHECK(module.describe() == "AlphaDropout(p=0.2)");
  CHECK(module.type_name() == "AlphaDropout");
  module.eval();
  CHECK(module.forward(x).data() == x.data());
  module.train();
  CHECK(module.forward(x).to_vector() != x.to_vector());

  // "adrop0.1" in --arch: an AlphaDropout after the SELU of the hidden layer, AlphaDropout in torch.nn.
  const nn::ModelSpec spec = nn::ModelSpec::parse("20-16-adrop0.1-4", "selu", "none");
  Rng rng(3);
  nn::Sequential net = nn::build_model(spec, nn::init::Scheme::Auto, rng);
  std::vector<std::string> kinds;
  for (std::size_t i = 0; i < net.size(); ++i) kinds.push_back(net[i].type_name());
  CHECK(kinds == std::vector<std::string>{"Linear", "SELU", "AlphaDropout", "Linear"});
  CHECK(nn::find_layer_kind("alphadropout").token(nn::find_layer_kind("alphadropout").parse("adrop0.1")) ==
        "adrop0.1");
  CHECK_THAT(nn::torch_layers_json({16}, {nn::find_layer_kind("alphadropout").parse("adrop0.25")}),
             Catch::Contains("\"AlphaDropout\"") && Catch::Contains("0.25"));
}

}  // namespace BEND_UNITY_ID
