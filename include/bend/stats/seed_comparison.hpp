#pragma once
// Comparing methods (activations) measured over the same seeds: per-method mean, std and confidence
// interval; paired t-tests for every pair with Holm's correction; a ranking in groups of methods that
// cannot be told apart; and how many seeds would resolve the closest unresolved pair. This is what
// `bend compare` reports, after the checklist of deep-significance (Ulmer et al., 2022): scores over
// seeds, a test that fits them, a correction for many comparisons, and the sample size.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bend/stats/paired_t_test.hpp"
#include "bend/stats/sample_summary.hpp"

namespace bend::stats {

struct ComparisonSettings {
  double alpha = 0.05;       // family-wise error rate of the pairwise tests (after Holm)
  double confidence = 0.95;  // of the intervals
  double power = 0.8;        // of the seeds-needed estimate
  // The ranking's direction: scores such as accuracy rank highest first; losses (false) lowest first.
  bool higher_is_better = true;
};

struct PairResult {
  std::size_t first = 0, second = 0;  // method indices, first < second; differences are first - second
  PairedComparison test;              // over the seeds where both methods have a score
  double p_holm = 1;                  // Holm-adjusted p-value across all pairs
  bool resolved = false;              // p_holm <= alpha with at least 2 pairs
  // Seeds (pairs) a paired t-test would need to resolve this gap at alpha per comparison with the given
  // power, from the measured std of the differences (see paired_sample_size). nullopt with fewer than 2
  // pairs, a zero gap, or more than a million.
  std::optional<int> seeds_needed;
};

struct SeedComparison {
  std::vector<std::string> names;
  ComparisonSettings settings;
  std::vector<SampleSummary> summaries;  // per method over its valid scores; n == 0 when it has none
  std::vector<int> missing;              // per method: scores left out (failed or diverged runs)
  std::vector<PairResult> pairs;         // (0,1), (0,2), ..., (1,2), ...
  std::vector<std::size_t> ranking;  // methods with scores by mean, best first (settings.higher_is_better;
                                     // ties: input order)
  std::vector<std::vector<std::size_t>> groups;  // ranking split by group_ranking on `resolved`
  std::vector<std::size_t> unranked;             // methods without any valid score
  // The unresolved pair with the smallest gap (index into pairs), when there is one with >= 2 pairs.
  std::optional<std::size_t> closest_unresolved;

  // Statistics need at least 2 seeds: true when some method has 2 valid scores and some pair has 2
  // common seeds. When false, reports say so instead of printing empty columns.
  bool has_statistics() const;
  int max_seeds() const;                                       // largest n over the methods
  const PairResult& pair(std::size_t a, std::size_t b) const;  // either order; throws ValueError if a == b
};

// scores[method][seed]: nullopt (or a non-finite value) marks a run that failed or diverged; it is left
// out of that method's summary and of every pair that involves that seed. All methods must have the same
// number of seeds (ValueError otherwise), and names one per method.
SeedComparison compare_over_seeds(const std::vector<std::string>& names,
                                  const std::vector<std::vector<std::optional<double>>>& scores,
                                  const ComparisonSettings& settings = {});

// "gelu ≈ silu ≈ relu > tanh > sigmoid": groups joined by " > ", members by " ≈ ". Methods without
// scores are not listed.
std::string ranking_line(const SeedComparison& comparison);

}  // namespace bend::stats
