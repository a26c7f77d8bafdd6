// Tests for bend's statistics (bend/stats): Student's t against t tables and SciPy, the incomplete beta
// function, sample summaries, the paired t-test on Student's own sleep data, Holm's correction, ranking
// groups, the seeds-needed estimate against SciPy's exact noncentral-t power, and the seed comparison
// with missing runs, one seed and identical differences. Reference numbers come from
// scripts/stats_reference.py (SciPy 1.10.1).
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <optional>
#include <vector>

#include "bend/error.hpp"
#include "bend/stats/holm.hpp"
#include "bend/stats/incomplete_beta.hpp"
#include "bend/stats/paired_t_test.hpp"
#include "bend/stats/ranking_groups.hpp"
#include "bend/stats/sample_size.hpp"
#include "bend/stats/sample_summary.hpp"
#include "bend/stats/seed_comparison.hpp"
#include "bend/stats/student_t.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend::stats;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

TEST_CASE("student t two-sided 95% critical values match the t table", "[stats]") {
  // Printed t tables (4 decimals): t_{0.975, df}.
  CHECK_THAT(student_t_critical(0.95, 1), WithinAbs(12.7062, 1e-4));
  CHECK_THAT(student_t_critical(0.95, 2), WithinAbs(4.3027, 1e-4));
  CHECK_THAT(student_t_critical(0.95, 4), WithinAbs(2.7764, 1e-4));
  CHECK_THAT(student_t_critical(0.95, 30), WithinAbs(2.0423, 1e-4));
  CHECK_THAT(student_t_critical(0.99, 10), WithinAbs(3.1693, 1e-4));
  // Every df from 1 to 200 gives a value above the normal 1.95996 that falls as df grows.
  double previous = 1e9;
  for (int df = 1; df <= 200; ++df) {
    const double t = student_t_critical(0.95, df);
    REQUIRE(t > 1.959963);
    REQUIRE(t < previous);
    REQUIRE_THAT(student_t_cdf(t, df), WithinAbs(0.975, 1e-12));
    previous = t;
  }
}

TEST_CASE("student t quantiles and CDF match SciPy", "[stats]") {
  struct Quantile {
    double p, df, t;
  };
  for (const Quantile& q : std::vector<Quantile>{{0.975, 1, 12.7062047364321},
                                                 {0.975, 2, 4.30265272991127},
                                                 {0.975, 4, 2.7764451051978},
                                                 {0.975, 30, 2.04227245630124},
                                                 {0.8, 9, 0.88340385968552},
                                                 {0.999, 3, 10.2145318524053},
                                                 {0.6, 2.5, 0.281459512586636},
                                                 {0.025, 7, -2.3646242510103},
                                                 {0.975, 1000, 1.96233908082641}}) {
    INFO("p " << q.p << " df " << q.df);
    CHECK_THAT(student_t_quantile(q.p, q.df), WithinRel(q.t, 1e-9));
  }
  // Closed forms (to 1e-9: the closed forms themselves lose digits as p nears 1): df 1 is the Cauchy
  // distribution, t = tan(pi (p - 1/2)); df 2 has t = (2p - 1) / sqrt(2 p (1 - p)). (SciPy 1.10 gives
  // 636.619249431856 at p 0.9995, df 1, 1e-9 off.)
  for (double p : {0.6, 0.9, 0.975, 0.9995, 0.999999, 1e-4}) {
    INFO("p " << p);
    CHECK_THAT(student_t_quantile(p, 1), WithinRel(std::tan(std::numbers::pi * (p - 0.5)), 1e-9));
    CHECK_THAT(student_t_quantile(p, 2), WithinRel((2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-9));
  }
  struct Cdf {
    double t, df, cdf;
  };
  for (const Cdf& c : std::vector<Cdf>{{0.0, 3, 0.5},
                                       {0.1, 1, 0.53172551743055352},
                                       {-1.5, 2, 0.13619656244550044},
                                       {2.0, 10, 0.96330598261462974},
                                       {4.0, 4, 0.99193495504995377},
                                       {-12.0, 6, 1.0153703097686606e-05},
                                       {35.0, 1, 0.99090790532435158},
                                       {1e-05, 50, 0.50000396952679727},
                                       {3.0, 0.7, 0.85831433034948712}}) {
    INFO("t " << c.t << " df " << c.df);
    CHECK_THAT(student_t_cdf(c.t, c.df), WithinRel(c.cdf, 1e-10));
  }
  CHECK(student_t_two_sided_p(0, 5) == 1.0);
  CHECK_THAT(student_t_two_sided_p(-2.0, 10), WithinRel(2 * (1 - 0.96330598261462974), 1e-9));
  CHECK(student_t_cdf(INFINITY, 3) == 1.0);
  CHECK(student_t_cdf(-INFINITY, 3) == 0.0);
  CHECK(student_t_quantile(0.5, 7) == 0.0);
  // Symmetric: t_{1-p} = -t_p.
  CHECK_THAT(student_t_quantile(0.1, 6), WithinRel(-student_t_quantile(0.9, 6), 1e-12));

  CHECK_THROWS_AS(student_t_quantile(0.0, 3), bend::ValueError);
  CHECK_THROWS_AS(student_t_quantile(1.0, 3), bend::ValueError);
  CHECK_THROWS_AS(student_t_quantile(0.5, 0), bend::ValueError);
  CHECK_THROWS_AS(student_t_cdf(NAN, 3), bend::ValueError);
  CHECK_THROWS_AS(student_t_critical(1.0, 3), bend::ValueError);
}

TEST_CASE("regularized incomplete beta matches SciPy's betainc", "[stats]") {
  struct Case {
    double a, b, x, value;
  };
  for (const Case& c : std::vector<Case>{{0.5, 0.5, 0.3, 0.36901011956554541},
                                         {2, 3, 0.4, 0.52479999999999993},
                                         {10, 0.5, 0.95, 0.31715157546554512},
                                         {0.5, 15, 0.01, 0.41393503522366459},
                                         {50, 60, 0.45, 0.46423529143060638},
                                         {1, 1, 0.7, 0.7}}) {
    INFO("a " << c.a << " b " << c.b << " x " << c.x);
    CHECK_THAT(regularized_incomplete_beta(c.a, c.b, c.x), WithinRel(c.value, 1e-12));
  }
  CHECK(regularized_incomplete_beta(2, 3, 0) == 0.0);
  CHECK(regularized_incomplete_beta(2, 3, 1) == 1.0);
  CHECK_THROWS_AS(regularized_incomplete_beta(0, 1, 0.5), bend::ValueError);
  CHECK_THROWS_AS(regularized_incomplete_beta(1, 1, 1.5), bend::ValueError);
  CHECK_THROWS_AS(regularized_incomplete_beta(1, 1, NAN), bend::ValueError);
}

TEST_CASE("sample summary: mean, n-1 std and the t interval", "[stats]") {
  const std::vector<double> gelu{0.9786, 0.9791, 0.9779, 0.9801, 0.9783};
  const SampleSummary s = summarize_sample(gelu);
  CHECK(s.n == 5);
  CHECK(s.has_spread());
  CHECK_THAT(s.mean, WithinRel(0.9788, 1e-14));
  CHECK_THAT(s.std, WithinRel(0.0008485281374238519, 1e-10));
  CHECK_THAT(s.ci_low, WithinRel(0.97774641316029787, 1e-12));
  CHECK_THAT(s.ci_high, WithinRel(0.97985358683970214, 1e-12));

  const std::vector<double> one{0.97};
  const SampleSummary single = summarize_sample(one);
  CHECK(single.n == 1);
  CHECK_FALSE(single.has_spread());
  CHECK(single.mean == 0.97);
  CHECK(single.std == 0.0);
  CHECK_THROWS_AS(sample_std(one), bend::ValueError);
  CHECK_THROWS_AS(summarize_sample(std::vector<double>{}), bend::ValueError);

  const std::vector<double> flat{0.5, 0.5, 0.5};
  const SampleSummary constant = summarize_sample(flat);
  CHECK(constant.std == 0.0);
  CHECK(constant.ci_low == 0.5);
  CHECK(constant.ci_high == 0.5);
}

TEST_CASE("paired t-test on Student's sleep data (1908) matches SciPy's ttest_rel", "[stats]") {
  // Extra hours of sleep under two drugs, the same ten patients (R's `sleep` data set).
  const std::vector<double> drug1{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
  const std::vector<double> drug2{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};
  const PairedComparison r = paired_t_test(drug1, drug2);
  CHECK(r.n == 10);
  CHECK(r.df == 9);
  CHECK(r.enough_pairs());
  CHECK_FALSE(r.zero_variance);
  CHECK_THAT(r.mean_difference, WithinRel(-1.58, 1e-12));
  CHECK_THAT(r.std_difference, WithinRel(1.2299954832798732, 1e-10));
  CHECK_THAT(r.t, WithinRel(-4.0621276833820366, 1e-10));
  CHECK_THAT(r.p_value, WithinRel(0.0028328901973842702, 1e-8));
  CHECK_THAT(r.ci_low, WithinRel(-2.4598857632547291, 1e-10));
  CHECK_THAT(r.ci_high, WithinRel(-0.70011423674527118, 1e-10));

  // Accuracies over 5 seeds: a gap smaller than either method's spread, resolved by pairing.
  const std::vector<double> gelu{0.9786, 0.9791, 0.9779, 0.9801, 0.9783};
  const std::vector<double> relu{0.9771, 0.9790, 0.9752, 0.9789, 0.9760};
  const PairedComparison g = paired_t_test(gelu, relu);
  CHECK_THAT(g.mean_difference, WithinRel(0.0015600000000000058, 1e-9));
  CHECK_THAT(g.t, WithinRel(3.440432512851582, 1e-8));
  CHECK_THAT(g.p_value, WithinRel(0.026283341655101228, 1e-7));
  CHECK_THAT(g.ci_low, WithinRel(0.00030107271457023056, 1e-7));
  CHECK_THAT(g.ci_high, WithinRel(0.0028189272854297811, 1e-8));
  // Swapping the arguments flips the sign and keeps p.
  const PairedComparison swapped = paired_t_test(relu, gelu);
  CHECK_THAT(swapped.t, WithinRel(-g.t, 1e-12));
  CHECK_THAT(swapped.p_value, WithinRel(g.p_value, 1e-12));
}

TEST_CASE("paired t-test: fewer than 2 pairs, identical differences, bad input", "[stats]") {
  const PairedComparison none = paired_t_test(std::vector<double>{}, std::vector<double>{});
  CHECK(none.n == 0);
  CHECK_FALSE(none.enough_pairs());
  CHECK(none.p_value == 1.0);

  const PairedComparison one = paired_t_test(std::vector<double>{0.98}, std::vector<double>{0.97});
  CHECK(one.n == 1);
  CHECK_FALSE(one.enough_pairs());
  CHECK_THAT(one.mean_difference, WithinAbs(0.01, 1e-15));
  CHECK(one.p_value == 1.0);
  CHECK(std::isfinite(one.ci_low));
  CHECK(std::isfinite(one.t));

  // The same gap at every seed (up to rounding of the decimal accuracies): a degenerate, certain test.
  const PairedComparison same_gap =
      paired_t_test(std::vector<double>{0.9786, 0.9801, 0.9771}, std::vector<double>{0.9771, 0.9786, 0.9756});
  CHECK(same_gap.zero_variance);
  CHECK(same_gap.p_value == 0.0);
  CHECK(same_gap.std_difference == 0.0);
  CHECK(same_gap.ci_low == same_gap.ci_high);
  CHECK_THAT(same_gap.mean_difference, WithinAbs(0.0015, 1e-12));

  const PairedComparison identical =
      paired_t_test(std::vector<double>{0.9786, 0.9801}, std::vector<double>{0.9786, 0.9801});
  CHECK(identical.zero_variance);
  CHECK(identical.p_value == 1.0);
  CHECK(identical.mean_difference == 0.0);

  CHECK_THROWS_AS(paired_t_test(std::vector<double>{1, 2}, std::vector<double>{1}), bend::ValueError);
  CHECK_THROWS_AS(paired_t_test(std::vector<double>{1, NAN}, std::vector<double>{1, 2}), bend::ValueError);
}

TEST_CASE("Holm's step-down correction", "[stats]") {
  // Sorted p: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> max(0.06, 0.04).
  const std::vector<double> adjusted = holm_adjust(std::vector<double>{0.01, 0.04, 0.03, 0.005});
  const std::vector<double> expected{0.03, 0.06, 0.06, 0.02};
  REQUIRE(adjusted.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK_THAT(adjusted[i], WithinAbs(expected[i], 1e-15));

  const std::vector<double> raw{0.2, 0.001, 0.6, 0.02, 0.04, 0.3};
  const std::vector<double> capped = holm_adjust(raw);
  const std::vector<double> capped_expected{0.6, 0.006, 0.6, 0.1, 0.16, 0.6};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    CHECK_THAT(capped[i], WithinAbs(capped_expected[i], 1e-15));
    CHECK(capped[i] >= raw[i]);
    CHECK(capped[i] <= 1.0);
    for (std::size_t j = 0; j < raw.size(); ++j)
      if (raw[i] <= raw[j]) CHECK(capped[i] <= capped[j]);  // monotone in the raw p
  }
  CHECK(holm_adjust(std::vector<double>{0.9, 0.8}) == std::vector<double>{1.0, 1.0});
  CHECK(holm_adjust(std::vector<double>{}).empty());
  CHECK_THROWS_AS(holm_adjust(std::vector<double>{0.1, 1.5}), bend::ValueError);
  CHECK_THROWS_AS(holm_adjust(std::vector<double>{NAN}), bend::ValueError);
}

TEST_CASE("ranking groups: a method joins a group only when it ties with every member", "[stats]") {
  // Methods 0..3 ranked 0 > 1 > 2 > 3; resolved pairs: (0, 2), (0, 3), (1, 3).
  auto resolved = [](std::size_t a, std::size_t b) {
    const std::size_t lo = std::min(a, b), hi = std::max(a, b);
    return (lo == 0 && hi == 2) || (lo == 0 && hi == 3) || (lo == 1 && hi == 3);
  };
  const std::vector<std::size_t> ranked{0, 1, 2, 3};
  const auto groups = group_ranking(ranked, resolved);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0] == std::vector<std::size_t>{0, 1});
  CHECK(groups[1] == std::vector<std::size_t>{2, 3});
  CHECK(group_ranking(ranked, [](std::size_t, std::size_t) { return false; }).size() == 1);
  CHECK(group_ranking(ranked, [](std::size_t, std::size_t) { return true; }).size() == 4);
  CHECK(group_ranking(std::vector<std::size_t>{}, resolved).empty());
}

TEST_CASE("seeds needed for a paired t-test match SciPy's exact noncentral-t power", "[stats]") {
  // (effect size gap / std, n from the t-quantile iteration, smallest n with exact power >= 0.8).
  struct Case {
    double effect;
    int iteration, exact;
  };
  for (const Case& c : std::vector<Case>{{0.3, 90, 90},
                                         {0.5, 34, 34},
                                         {0.8, 15, 15},
                                         {1.0, 10, 10},
                                         {1.5, 6, 6},
                                         {2.0, 5, 5},
                                         {3.0, 4, 4}}) {
    INFO("effect size " << c.effect);
    const std::optional<int> n = paired_sample_size(0.002 * c.effect, 0.002);
    REQUIRE(n.has_value());
    CHECK(*n == c.iteration);
    CHECK(std::abs(*n - c.exact) <= 1);
    // The sign of the gap does not matter.
    CHECK(paired_sample_size(-0.002 * c.effect, 0.002) == n);
  }
  CHECK_FALSE(paired_sample_size(0.0, 0.01).has_value());  // no gap: never resolved
  CHECK(paired_sample_size(0.001, 0.0) == 2);              // no spread: the smallest test
  CHECK_FALSE(paired_sample_size(1e-9, 1.0).has_value());  // beyond a million pairs
  CHECK(paired_sample_size(0.0004, 0.002).value() > 100);  // effect 0.2: about 199
  CHECK_THROWS_AS(paired_sample_size(0.1, -1.0), bend::ValueError);
  CHECK_THROWS_AS(paired_sample_size(0.1, 1.0, 0.0), bend::ValueError);
  CHECK_THROWS_AS(paired_sample_size(0.1, 1.0, 0.05, 1.0), bend::ValueError);
}

TEST_CASE("compare over seeds: summaries, Holm-corrected pairs, groups, seeds needed", "[stats]") {
  // Five seeds. gelu and silu are close; relu is clearly below both; sigmoid far below.
  const std::vector<std::string> names{"relu", "gelu", "silu", "sigmoid"};
  const std::vector<std::vector<std::optional<double>>> scores{
      {0.9771, 0.9790, 0.9752, 0.9789, 0.9760},
      {0.9786, 0.9811, 0.9779, 0.9811, 0.9783},
      {0.9790, 0.9805, 0.9782, 0.9806, 0.9780},
      {0.9521, 0.9550, 0.9530, 0.9541, 0.9519},
  };
  const SeedComparison c = compare_over_seeds(names, scores);
  CHECK(c.has_statistics());
  CHECK(c.max_seeds() == 5);
  REQUIRE(c.pairs.size() == 6);
  CHECK(c.ranking == std::vector<std::size_t>{1, 2, 0, 3});
  REQUIRE(c.groups.size() == 3);
  CHECK(c.groups[0] == std::vector<std::size_t>{1, 2});
  CHECK(ranking_line(c) == "gelu ≈ silu > relu > sigmoid");
  // The Holm values are the adjusted raw p-values of the six pairs.
  std::vector<double> raw;
  for (const PairResult& p : c.pairs) raw.push_back(p.test.p_value);
  const std::vector<double> adjusted = holm_adjust(raw);
  for (std::size_t i = 0; i < raw.size(); ++i) CHECK(c.pairs[i].p_holm == adjusted[i]);
  const PairResult& gelu_silu = c.pair(2, 1);
  CHECK_FALSE(gelu_silu.resolved);
  CHECK(c.closest_unresolved.has_value());
  CHECK(&c.pairs[*c.closest_unresolved] == &gelu_silu);
  REQUIRE(gelu_silu.seeds_needed.has_value());
  CHECK(*gelu_silu.seeds_needed > 5);
  CHECK(*gelu_silu.seeds_needed ==
        *paired_sample_size(gelu_silu.test.mean_difference, gelu_silu.test.std_difference));
  CHECK(c.pair(0, 3).resolved);
  CHECK_THROWS_AS(c.pair(1, 1), bend::ValueError);
}

TEST_CASE("compare over seeds: failed runs are left out; one seed gives no statistics", "[stats]") {
  const std::vector<std::string> names{"relu", "gelu", "tanh"};
  // gelu's seed 1 diverged (nullopt), tanh's seed 2 gave NaN; tanh's other seeds are all gone too.
  const std::vector<std::vector<std::optional<double>>> scores{
      {0.97, 0.975, 0.972},
      {0.98, std::nullopt, 0.981},
      {std::nullopt, std::nullopt, NAN},
  };
  const SeedComparison c = compare_over_seeds(names, scores);
  CHECK(c.missing == std::vector<int>{0, 1, 3});
  CHECK(c.summaries[1].n == 2);
  CHECK_THAT(c.summaries[1].mean, WithinRel(0.9805, 1e-12));
  CHECK(c.summaries[2].n == 0);
  CHECK(c.unranked == std::vector<std::size_t>{2});
  CHECK(c.ranking == std::vector<std::size_t>{1, 0});
  CHECK(c.pair(0, 1).test.n == 2);  // seeds 0 and 2
  CHECK(c.pair(0, 2).test.n == 0);
  CHECK(c.pair(0, 2).p_holm == 1.0);
  CHECK_FALSE(c.pair(0, 2).resolved);

  const std::vector<std::vector<std::optional<double>>> single{{0.97}, {0.98}};
  const SeedComparison one = compare_over_seeds({"relu", "gelu"}, single);
  CHECK_FALSE(one.has_statistics());
  CHECK(one.groups.size() == 1);  // nothing can be told apart
  CHECK_FALSE(one.closest_unresolved.has_value());
  CHECK(ranking_line(one) == "gelu ≈ relu");

  CHECK_THROWS_AS(compare_over_seeds({"a", "b"}, {{0.9, 0.8}, {0.9}}), bend::ValueError);
  CHECK_THROWS_AS(compare_over_seeds({"a"}, {{0.9}, {0.8}}), bend::ValueError);
}

}  // namespace BEND_UNITY_ID
