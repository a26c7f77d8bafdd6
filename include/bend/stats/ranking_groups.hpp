#pragma once
// Groups in a ranking: methods that the data cannot tell apart share a group ("gelu ≈ silu ≈ relu").
#include <cstddef>
#include <functional>
#include <span>
#include <vector>

namespace bend::stats {

// Splits `ranked` (method indices, best first) into consecutive groups, walking down the ranking: a method
// joins the current group when it is indistinguishable from every member already in it; otherwise it opens
// the next group. So within a group no pair was resolved, and each group boundary means the method below
// it differs from at least one member of the group above (not necessarily from all: with A ≈ B, B ≈ C
// and A > C the groups are {A, B}, {C}). `distinguishable(i, j)` must be symmetric.
std::vector<std::vector<std::size_t>> group_ranking(
    std::span<const std::size_t> ranked,
    const std::function<bool(std::size_t, std::size_t)>& distinguishable);

}  // namespace bend::stats
