// Comparing methods over seeds (see bend/stats/seed_comparison.hpp).
#include "bend/stats/seed_comparison.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "bend/error.hpp"
#include "bend/stats/holm.hpp"
#include "bend/stats/ranking_groups.hpp"
#include "bend/stats/sample_size.hpp"

namespace bend::stats {

bool SeedComparison::has_statistics() const {
  const bool some_method =
      std::any_of(summaries.begin(), summaries.end(), [](const SampleSummary& s) { return s.has_spread(); });
  const bool some_pair = pairs.empty() || std::any_of(pairs.begin(), pairs.end(), [](const PairResult& p) {
                           return p.test.enough_pairs();
                         });
  return some_method && some_pair;
}

int SeedComparison::max_seeds() const {
  int n = 0;
  for (const SampleSummary& s : summaries) n = std::max(n, s.n);
  return n;
}

const PairResult& SeedComparison::pair(std::size_t a, std::size_t b) const {
  if (a == b)
    throw ValueError(fmt::format("SeedComparison::pair: a method is not compared with itself ({})", a));
  const std::size_t lo = std::min(a, b), hi = std::max(a, b);
  for (const PairResult& p : pairs)
    if (p.first == lo && p.second == hi) return p;
  throw ValueError(
      fmt::format("SeedComparison::pair: no pair ({}, {}) among {} methods", a, b, names.size()));
}

SeedComparison compare_over_seeds(const std::vector<std::string>& names,
                                  const std::vector<std::vector<std::optional<double>>>& scores,
                                  const ComparisonSettings& settings) {
  if (names.size() != scores.size())
    throw ValueError(fmt::format("compare_over_seeds: {} names for {} methods", names.size(), scores.size()));
  const std::size_t methods = scores.size();
  const std::size_t seeds = methods == 0 ? 0 : scores[0].size();
  for (std::size_t m = 0; m < methods; ++m)
    if (scores[m].size() != seeds)
      throw ValueError(
          fmt::format("compare_over_seeds: '{}' has {} seeds, '{}' has {}; every method runs the same seeds",
                      names[m], scores[m].size(), names[0], seeds));
  auto valid = [&](std::size_t m, std::size_t s) {
    return scores[m][s].has_value() && std::isfinite(*scores[m][s]);
  };

  SeedComparison out;
  out.names = names;
  out.settings = settings;
  for (std::size_t m = 0; m < methods; ++m) {
    std::vector<double> values;
    for (std::size_t s = 0; s < seeds; ++s)
      if (valid(m, s)) values.push_back(*scores[m][s]);
    out.missing.push_back(static_cast<int>(seeds - values.size()));
    if (values.empty()) {
      SampleSummary none;
      none.confidence = settings.confidence;
      out.summaries.push_back(none);
    } else {
      out.summaries.push_back(summarize_sample(values, settings.confidence));
    }
  }

  // Pairwise paired tests over the seeds both methods completed, then Holm across all pairs.
  for (std::size_t a = 0; a < methods; ++a)
    for (std::size_t b = a + 1; b < methods; ++b) {
      std::vector<double> first, second;
      for (std::size_t s = 0; s < seeds; ++s)
        if (valid(a, s) && valid(b, s)) {
          first.push_back(*scores[a][s]);
          second.push_back(*scores[b][s]);
        }
      PairResult pair;
      pair.first = a;
      pair.second = b;
      pair.test = paired_t_test(first, second, settings.confidence);
      if (pair.test.enough_pairs() && pair.test.mean_difference != 0)
        pair.seeds_needed = paired_sample_size(pair.test.mean_difference, pair.test.std_difference,
                                               settings.alpha, settings.power);
      out.pairs.push_back(pair);
    }
  std::vector<double> raw(out.pairs.size());
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = out.pairs[i].test.p_value;
  const std::vector<double> adjusted = holm_adjust(raw);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    PairResult& p = out.pairs[i];
    p.p_holm = adjusted[i];
    p.resolved = p.test.enough_pairs() && p.p_holm <= settings.alpha;
  }

  for (std::size_t m = 0; m < methods; ++m)
    (out.summaries[m].n > 0 ? out.ranking : out.unranked).push_back(m);
  std::stable_sort(out.ranking.begin(), out.ranking.end(), [&](std::size_t a, std::size_t b) {
    return settings.higher_is_better ? out.summaries[a].mean > out.summaries[b].mean
                                     : out.summaries[a].mean < out.summaries[b].mean;
  });
  out.groups =
      group_ranking(out.ranking, [&](std::size_t a, std::size_t b) { return out.pair(a, b).resolved; });

  for (std::size_t i = 0; i < out.pairs.size(); ++i) {
    const PairResult& p = out.pairs[i];
    if (p.resolved || !p.test.enough_pairs()) continue;
    if (!out.closest_unresolved || std::fabs(p.test.mean_difference) <
                                       std::fabs(out.pairs[*out.closest_unresolved].test.mean_difference))
      out.closest_unresolved = i;
  }
  return out;
}

std::string ranking_line(const SeedComparison& comparison) {
  std::string line;
  for (std::size_t g = 0; g < comparison.groups.size(); ++g) {
    if (g > 0) line += " > ";
    for (std::size_t k = 0; k < comparison.groups[g].size(); ++k) {
      if (k > 0) line += " ≈ ";
      line += comparison.names[comparison.groups[g][k]];
    }
  }
  return line;
}

}  // namespace bend::stats
