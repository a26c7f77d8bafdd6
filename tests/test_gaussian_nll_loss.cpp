// gaussian_nll_loss against PyTorch 1.13's F.gaussian_nll_loss (numbers from
// scripts/torch_gaussian_nll_reference.py): the clamp of var to eps (outside autograd, so a clamped
// entry still gets a gradient), full, the reductions, a variance per row; gradcheck; errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "bend/bend.hpp"
#include "reference_inputs.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using bend::testing::check_close;
using bend::testing::pattern;
using bend::testing::require_gradcheck;

namespace {

// From scripts/torch_gaussian_nll_reference.py (PyTorch 1.13).
// clang-format off
const std::vector<double> kTorch_gnll_mean_loss = {212505.125};
const std::vector<double> kTorch_gnll_mean_dinput = {-0.061144351959228516, -13958.5341796875, 0.03186056762933731, 0.07641902565956116, 0.16157831251621246, 0.4207453429698944, 0.17576700448989868, 1.0064730644226074, 0.038002654910087585, -0.11086059361696243, -0.2556685507297516, -187676.90625};
const std::vector<double> kTorch_gnll_mean_dtarget = {0.061144351959228516, 13958.5341796875, -0.03186056762933731, -0.07641902565956116, -0.16157831251621246, -0.4207453429698944, -0.17576700448989868, -1.0064730644226074, -0.038002654910087585, 0.11086059361696243, 0.2556685507297516, 187676.90625};
const std::vector<double> kTorch_gnll_mean_dvar = {0.18729694187641144, -1169002240.0, 0.118291936814785, 0.01588079333305359, -0.10272634029388428, -0.9592409729957581, -0.14324939250946045, -5.743133544921875, 0.036488424986600876, -0.006333589553833008, -0.3218243718147278, -211335692288.0};
const std::vector<double> kTorch_gnll_full_sum_loss = {2550073.0};
const std::vector<double> kTorch_gnll_full_sum_dinput = {-0.7337322235107422, -167502.40625, 0.38232678174972534, 0.9170282483100891, 1.9389398097991943, 5.048943519592285, 2.109204053878784, 12.077677726745605, 0.456031858921051, -1.330327033996582, -3.0680227279663086, -2252123.0};
const std::vector<double> kTorch_gnll_full_sum_dtarget = {0.7337322235107422, 167502.40625, -0.38232678174972534, -0.9170282483100891, -1.9389398097991943, -5.048943519592285, -2.109204053878784, -12.077677726745605, -0.456031858921051, 1.330327033996582, 3.0680227279663086, 2252123.0};
const std::vector<double> kTorch_gnll_full_sum_dvar = {2.247563362121582, -14028027904.0, 1.4195032119750977, 0.19056951999664307, -1.2327160835266113, -11.510891914367676, -1.7189925909042358, -68.9176025390625, 0.4378611445426941, -0.0760030746459961, -3.861891984939575, -2536028241920.0};
const std::vector<double> kTorch_gnll_none_loss = {-0.7545786499977112, 14021.619140625, -0.5223467946052551, 0.24378420412540436, 1.3237086534500122, 4.708064079284668, 2.195350170135498, 8.035191535949707, 0.055767837911844254, 0.3064578175544739, 2.524461507797241, 2536021.75};
const std::vector<double> kTorch_gnll_none_dinput = {-0.35176995396614075, -111702.265625, 0.31319889426231384, 0.8513405919075012, 1.9169362783432007, 5.033115863800049, 2.0091774463653564, 10.364069938659668, 0.3276428282260895, -0.7196699976921082, -1.0277512073516846, -250799.078125};
const std::vector<double> kTorch_gnll_none_dtarget = {0.35176995396614075, 111702.265625, -0.31319889426231384, -0.8513405919075012, -1.9169362783432007, -5.033115863800049, -2.0091774463653564, -10.364069938659668, -0.3276428282260895, 0.7196699976921082, 1.0277512073516846, 250799.078125};
const std::vector<double> kTorch_gnll_none_dvar = {1.0775392055511475, -9354865664.0, 1.1628451347351074, 0.17691883444786072, -1.2187268733978271, -11.47480583190918, -1.6374714374542236, -59.13942337036133, 0.31458780169487, -0.04111555218696594, -1.2936880588531494, -282415104000.0};
const std::vector<double> kTorch_gnll_eps_loss = {5.510106563568115};
const std::vector<double> kTorch_gnll_eps_dinput = {-0.061144351959228516, -0.2791706919670105, 0.03186056762933731, 0.07641902565956116, 0.16157831251621246, 0.4207453429698944, 0.17576700448989868, 1.0064730644226074, 0.038002654910087585, -0.11086059361696243, -0.2556685507297516, -3.7535383701324463};
const std::vector<double> kTorch_gnll_eps_dtarget = {0.061144351959228516, 0.2791706919670105, -0.03186056762933731, -0.07641902565956116, -0.16157831251621246, -0.4207453429698944, -0.17576700448989868, -1.0064730644226074, -0.038002654910087585, 0.11086059361696243, 0.2556685507297516, 3.7535383701324463};
const std::vector<double> kTorch_gnll_eps_dvar = {0.18729694187641144, 0.36571580171585083, 0.118291936814785, 0.01588079333305359, -0.10272634029388428, -0.9592409729957581, -0.14324939250946045, -5.743133544921875, 0.036488424986600876, -0.006333589553833008, -0.3218243718147278, -83.7009506225586};
const std::vector<double> kTorch_gnll_row_loss = {1.37183678150177};
const std::vector<double> kTorch_gnll_row_dinput = {-0.061144351959228516, -0.07026012986898422, 0.053721990436315536, 0.31475386023521423, 0.12517555058002472, 0.17076648771762848, 0.17433322966098785, 0.12557458877563477, 0.10468404740095139, -0.20456558465957642, -0.45188039541244507, -0.560249388217926};
const std::vector<double> kTorch_gnll_row_dtarget = {0.061144351959228516, 0.07026012986898422, -0.053721990436315536, -0.31475386023521423, -0.12517555058002472, -0.17076648771762848, -0.17433322966098785, -0.12557458877563477, -0.10468404740095139, 0.20456558465957642, 0.45188039541244507, 0.560249388217926};
const std::vector<double> kTorch_gnll_row_dvar = {0.17512792348861694, -0.37886178493499756, -2.9277567863464355};
const std::vector<double> kTorch_gnll_row_squeezed_loss = {1.37183678150177};
const std::vector<double> kTorch_gnll_row_squeezed_dinput = {-0.061144351959228516, -0.07026012986898422, 0.053721990436315536, 0.31475386023521423, 0.12517555058002472, 0.17076648771762848, 0.17433322966098785, 0.12557458877563477, 0.10468404740095139, -0.20456558465957642, -0.45188039541244507, -0.560249388217926};
const std::vector<double> kTorch_gnll_row_squeezed_dtarget = {0.061144351959228516, 0.07026012986898422, -0.053721990436315536, -0.31475386023521423, -0.12517555058002472, -0.17076648771762848, -0.17433322966098785, -0.12557458877563477, -0.10468404740095139, 0.20456558465957642, 0.45188039541244507, 0.560249388217926};
const std::vector<double> kTorch_gnll_row_squeezed_dvar = {0.17512792348861694, -0.37886178493499756, -2.9277567863464355};
// clang-format on

struct Inputs {
  Tensor x, t, var;
};

// As the script's inputs(): var is |pattern| with var[0, 1] = 1e-8 (below eps) and var[2, 3] = 0.
Inputs inputs(const Shape& var_shape = Shape{3, 4}) {
  Inputs in{pattern(Shape{3, 4}, 0.37, 0.1, 1.5), pattern(Shape{3, 4}, 0.71, 0.3),
            pattern(var_shape, 1.3, 0.2)};
  for (float& v : in.var.span()) v = std::fabs(v);
  if (in.var.numel() == 12) {
    in.var.data()[1] = 1e-8f;
    in.var.data()[11] = 0.0f;
  }
  in.x.requires_grad_();
  in.t.requires_grad_();
  in.var.requires_grad_();
  return in;
}

void check_case(const Inputs& in, const Tensor& loss, const std::vector<double>& expected_loss,
                const std::vector<double>& dinput, const std::vector<double>& dtarget,
                const std::vector<double>& dvar) {
  check_close(loss, expected_loss, 1e-5, 1e-6);
  if (loss.ndim() == 0)
    loss.backward();
  else
    loss.backward(bend::testing::seed_for(loss));
  check_close(in.x.grad(), dinput, 1e-5, 1e-5);
  check_close(in.t.grad(), dtarget, 1e-5, 1e-5);
  // The clamped entries' gradients are ~1/eps² large: relative tolerance only there.
  check_close(in.var.grad(), dvar, 1e-5, 1e-5);
}

}  // namespace

TEST_CASE("gaussian_nll_loss: PyTorch's values and gradients", "[ops][loss][gaussian_nll]") {
  SECTION("mean, eps 1e-6 (two entries clamped)") {
    const Inputs in = inputs();
    check_case(in, gaussian_nll_loss(in.x, in.t, in.var), kTorch_gnll_mean_loss, kTorch_gnll_mean_dinput,
               kTorch_gnll_mean_dtarget, kTorch_gnll_mean_dvar);
  }
  SECTION("full, sum") {
    const Inputs in = inputs();
    check_case(in, gaussian_nll_loss(in.x, in.t, in.var, true, 1e-6f, Reduction::Sum),
               kTorch_gnll_full_sum_loss, kTorch_gnll_full_sum_dinput, kTorch_gnll_full_sum_dtarget,
               kTorch_gnll_full_sum_dvar);
  }
  SECTION("none") {
    const Inputs in = inputs();
    check_case(in, gaussian_nll_loss(in.x, in.t, in.var, false, 1e-6f, Reduction::None),
               kTorch_gnll_none_loss, kTorch_gnll_none_dinput, kTorch_gnll_none_dtarget,
               kTorch_gnll_none_dvar);
  }
  SECTION("eps 0.05") {
    const Inputs in = inputs();
    check_case(in, gaussian_nll_loss(in.x, in.t, in.var, false, 0.05f), kTorch_gnll_eps_loss,
               kTorch_gnll_eps_dinput, kTorch_gnll_eps_dtarget, kTorch_gnll_eps_dvar);
  }
  SECTION("one variance per row, [N, 1] and [N]") {
    const Inputs row = inputs(Shape{3, 1});
    check_case(row, gaussian_nll_loss(row.x, row.t, row.var), kTorch_gnll_row_loss, kTorch_gnll_row_dinput,
               kTorch_gnll_row_dtarget, kTorch_gnll_row_dvar);
    const Inputs squeezed = inputs(Shape{3});
    check_case(squeezed, gaussian_nll_loss(squeezed.x, squeezed.t, squeezed.var),
               kTorch_gnll_row_squeezed_loss, kTorch_gnll_row_squeezed_dinput,
               kTorch_gnll_row_squeezed_dtarget, kTorch_gnll_row_squeezed_dvar);
  }
}

TEST_CASE("gaussian_nll_loss: the formula, gradcheck and errors", "[ops][loss][gaussian_nll]") {
  // Written out in double: 0.5·(log v + d²/v) (+ 0.5·log 2π).
  const Tensor x = Tensor::from({0.5f, -1.0f, 2.0f}), t = Tensor::from({0.0f, 1.0f, 2.5f});
  const Tensor var = Tensor::from({0.25f, 4.0f, 1.0f});
  double sum = 0;
  for (int k = 0; k < 3; ++k) {
    const double d = x.data()[k] - t.data()[k], v = var.data()[k];
    sum += 0.5 * (std::log(v) + d * d / v);
  }
  CHECK(gaussian_nll_loss(x, t, var).item() == Approx(sum / 3).epsilon(1e-6));
  CHECK(gaussian_nll_loss(x, t, var, true, 1e-6f, Reduction::Sum).item() ==
        Approx(sum + 1.5 * std::log(2 * std::acos(-1.0))).epsilon(1e-6));

  Rng rng(5);
  const Tensor a = bend::testing::random_tensor(Shape{4, 3}, rng);
  const Tensor b = bend::testing::random_tensor(Shape{4, 3}, rng);
  const Tensor v = bend::testing::random_tensor(Shape{4, 3}, rng, 0.5f, 2.0f);
  const Tensor per_row = bend::testing::random_tensor(Shape{4}, rng, 0.5f, 2.0f);
  require_gradcheck([](const std::vector<Tensor>& in) { return gaussian_nll_loss(in[0], in[1], in[2]); },
                    {a, b, v});
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        return gaussian_nll_loss(in[0], in[1], in[2], true, 1e-6f, Reduction::Sum);
      },
      {a, b, per_row});

  CHECK_THROWS_WITH(gaussian_nll_loss(x, t, Tensor::from({0.25f, -1.0f, 1.0f})),
                    Catch::Contains("var has negative"));
  CHECK_THROWS_AS(gaussian_nll_loss(x, Tensor::from({0.0f, 1.0f}), var), ShapeError);
  CHECK_THROWS_WITH(gaussian_nll_loss(a, b, Tensor::from({1.0f, 1.0f, 1.0f})), Catch::Contains("var [3]"));
}

}  // namespace BEND_UNITY_ID
