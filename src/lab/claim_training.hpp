#pragma once
// A mini-batch loop for the claim experiments whose loss the Trainer does not have (Gaussian NLL,
// reconstruction, binary cross-entropy); not installed. The Trainer (lab::fit) stays the loop for
// classification with cross-entropy.
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

#include "bend/autograd.hpp"
#include "bend/ops.hpp"
#include "bend/optim/optimizer.hpp"
#include "bend/rng.hpp"

namespace bend::lab::detail {

// One epoch over rows [0, n) in a shuffled order drawn from `order`: loss_of(rows of the batch) gives
// the batch's loss, then backward and an optimizer step. Returns the mean batch loss, or NaN as soon
// as a loss is not finite (the epoch stops there, before that step).
inline double train_epoch(optim::Optimizer& opt, std::int64_t n, std::int64_t batch, Rng& order,
                          const std::function<Tensor(std::span<const std::int64_t>)>& loss_of) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  for (std::size_t k = rows.size(); k > 1; --k) std::swap(rows[k - 1], rows[order.below(k)]);
  double total = 0;
  std::int64_t batches = 0;
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::span<const std::int64_t> b(rows.data() + start,
                                          static_cast<std::size_t>(std::min(batch, n - start)));
    opt.zero_grad();
    Tensor loss = loss_of(b);
    const double value = loss.item();
    if (!std::isfinite(value)) return std::nan("");
    loss.backward();
    opt.step();
    total += value;
    ++batches;
  }
  return batches ? total / static_cast<double>(batches) : 0.0;
}

}  // namespace bend::lab::detail
