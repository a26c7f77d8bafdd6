// gradcheck itself: it passes correct gradients and catches wrong ones.
#include <catch2/catch.hpp>

#include "bend/bend.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;

namespace {
// A deliberately broken op: y = x³ whose backward claims 3x²·(1 + skew).
struct BrokenCube {
  static float value(float x, const PointwiseParams&) { return x * x * x; }
  static float derivative(float x, float, const PointwiseParams& p) { return 3.0f * x * x * (1.0f + p.a); }
};
constexpr PointwiseKernel kBrokenCube = make_pointwise_kernel<BrokenCube>("broken_cube");
}  // namespace

TEST_CASE("gradcheck passes a correct gradient and fails a wrong one", "[gradcheck]") {
  Rng rng(11);
  Tensor x = bend::testing::random_tensor({4, 3}, rng, 0.5f, 1.5f);
  auto with_skew = [](float skew) {
    return [skew](const std::vector<Tensor>& v) { return apply_pointwise(v[0], kBrokenCube, {skew}); };
  };
  const GradcheckResult good = gradcheck(with_skew(0.0f), {x});
  INFO(good.message);
  CHECK(good.ok);
  CHECK(good.min_analytic_norm > 0.1);

  for (float skew : {0.05f, -0.5f, -2.0f}) {
    const GradcheckResult bad = gradcheck(with_skew(skew), {x});
    CHECK_FALSE(bad.ok);
    CHECK_THAT(bad.message, Catch::Contains("input 0") && Catch::Contains("analytic"));
  }
  // The inputs' values and gradients are left as they were.
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradcheck catches a wrong gradient for one of several inputs", "[gradcheck]") {
  Rng rng(12);
  Tensor a = bend::testing::random_tensor({3}, rng, 0.5f, 1.5f);
  Tensor b = bend::testing::random_tensor({3}, rng, 0.5f, 1.5f);
  const auto r = gradcheck(
      [](const std::vector<Tensor>& v) { return v[0] * 2.0f + apply_pointwise(v[1], kBrokenCube, {0.3f}); },
      {a, b});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Catch::Contains("input 1"));
}

}  // namespace BEND_UNITY_ID
