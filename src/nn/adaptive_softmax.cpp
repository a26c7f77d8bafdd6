// AdaptiveLogSoftmaxWithLoss: construction and validation as torch.nn.AdaptiveLogSoftmaxWithLoss, the
// loss (head log-softmax gathered at each target, plus the tail's log-softmax for cluster targets),
// full log-probabilities and predict's shortlist shortcut.
#include "bend/nn/adaptive_softmax.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/ops.hpp"

namespace bend::nn {
namespace {

// The tails' container; only there so that parameter names read "tail.<i>.<j>.weight" as PyTorch's
// ModuleList makes them.
class ModuleList : public Module {
 public:
  void append(std::shared_ptr<Module> m) { register_module(std::to_string(children().size()), std::move(m)); }
  Tensor forward(const Tensor&) override {
    throw Error("ModuleList has no forward: call its elements (AdaptiveLogSoftmaxWithLoss::tail(i))");
  }
  std::string type_name() const override { return "ModuleList"; }
};

// A bias-free Linear with a zero-sized dimension (bend's Linear rejects those). PyTorch builds such
// layers when a tail's hidden size rounds to 0; x·Wᵀ over an empty dimension is all zeros, so the
// output is constant and no gradient flows.
class EmptyLinear : public Module {
 public:
  EmptyLinear(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {
    register_parameter("weight", Tensor::empty({out_features, in_features}));
  }
  Tensor forward(const Tensor& x) override {
    if (x.ndim() != 2 || x.size(1) != in_features_)
      throw ShapeError(fmt::format("Linear: input {} does not fit weight [{}, {}] (expected input [N, {}])",
                                   x.shape().str(), out_features_, in_features_, in_features_));
    return Tensor::zeros({x.size(0), out_features_});
  }
  std::string type_name() const override { return "Linear"; }
  std::string describe() const override {
    return fmt::format("Linear(in_features={}, out_features={}, bias=False)", in_features_, out_features_);
  }

 private:
  std::int64_t in_features_, out_features_;
};

// Python's float floor division a // b for a >= 0, b > 0 (Objects/floatobject.c), so that hidden sizes
// match PyTorch's int(in_features // div_value ** (i + 1)) even where a / b rounds up to an integer.
double python_floor_div(double a, double b) {
  const double mod = std::fmod(a, b);
  const double div = (a - mod) / b;
  if (div == 0.0) return 0.0;
  double floored = std::floor(div);
  if (div - floored > 0.5) floored += 1.0;
  return floored;
}

// Continuation lines of a child's repr indented by two spaces, as torch's _addindent.
std::string indented(const std::string& s) {
  std::string out;
  for (char ch : s) {
    out += ch;
    if (ch == '\n') out += "  ";
  }
  return out;
}

std::int32_t argmax_row(const float* row, std::int64_t n) {
  return static_cast<std::int32_t>(std::max_element(row, row + n) - row);  // first maximum
}

}  // namespace

AdaptiveLogSoftmaxWithLoss::AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                                                       std::vector<std::int64_t> cutoffs, double div_value,
                                                       bool head_bias)
    : AdaptiveLogSoftmaxWithLoss(in_features, n_classes, std::move(cutoffs), div_value, head_bias,
                                 default_rng()) {}

AdaptiveLogSoftmaxWithLoss::AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                                                       std::vector<std::int64_t> cutoffs, double div_value,
                                                       bool head_bias, Rng& rng)
    : in_features_(in_features), n_classes_(n_classes), cutoffs_(std::move(cutoffs)), div_value_(div_value) {
  // PyTorch's condition, and its message; an empty list also fails there (min() of nothing).
  const bool valid = !cutoffs_.empty() && std::is_sorted(cutoffs_.begin(), cutoffs_.end()) &&
                     std::adjacent_find(cutoffs_.begin(), cutoffs_.end()) == cutoffs_.end() &&
                     cutoffs_.front() > 0 && cutoffs_.back() <= n_classes - 1;
  if (!valid)
    throw ValueError(fmt::format(
        "AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive integers sorted in an "
        "increasing order, where each value is between 1 and n_classes-1 = {}; got [{}]",
        n_classes - 1, fmt::join(cutoffs_, ", ")));
  if (in_features <= 0)
    throw ValueError(
        fmt::format("AdaptiveLogSoftmaxWithLoss: in_features must be positive, got {}", in_features));
  if (!(div_value > 0.0) || !std::isfinite(div_value))
    throw ValueError(
        fmt::format("AdaptiveLogSoftmaxWithLoss: div_value must be positive and finite, got {}", div_value));
  cutoffs_.push_back(n_classes);

  head_ = std::make_shared<Linear>(in_features, head_size(), head_bias, rng);
  register_module("head", head_);
  auto tail_list = std::make_shared<ModuleList>();
  for (std::int64_t i = 0; i < n_clusters(); ++i) {
    const double hidden =
        python_floor_div(static_cast<double>(in_features), std::pow(div_value, static_cast<double>(i + 1)));
    if (hidden > 1e9)
      throw ValueError(fmt::format("AdaptiveLogSoftmaxWithLoss: div_value {} makes tail {} {} wide",
                                   div_value, i, hidden));
    const auto hsz = static_cast<std::int64_t>(hidden);
    const std::int64_t osz =
        cutoffs_[static_cast<std::size_t>(i + 1)] - cutoffs_[static_cast<std::size_t>(i)];
    auto projection = std::make_shared<Sequential>();
    if (hsz > 0) {
      projection->push_back(Linear(in_features, hsz, false, rng));
      projection->push_back(Linear(hsz, osz, false, rng));
    } else {
      projection->push_back(EmptyLinear(in_features, 0));
      projection->push_back(EmptyLinear(0, osz));
    }
    tails_.push_back(projection);
    tail_list->append(projection);
  }
  register_module("tail", tail_list);
}

ASMOutput AdaptiveLogSoftmaxWithLoss::forward(const Tensor& input, std::span<const std::int32_t> target) {
  if (input.ndim() != 2 || input.size(1) != in_features_)
    throw ShapeError(fmt::format("AdaptiveLogSoftmaxWithLoss: input {} should be [N, {}]",
                                 input.shape().str(), in_features_));
  const std::int64_t batch = input.size(0);
  if (static_cast<std::int64_t>(target.size()) != batch)
    throw ShapeError(fmt::format("AdaptiveLogSoftmaxWithLoss: input {} has {} rows but {} targets were given",
                                 input.shape().str(), batch, target.size()));

  // Sort the rows by cluster: the head sees every row at its target (shortlist) or its cluster's entry.
  // The index lists are members, cleared and refilled, so that a steady training step allocates nothing.
  const std::int64_t shortlist = shortlist_size();
  std::vector<std::int32_t>& head_index = scratch_.head_index;
  auto& cluster_rows = scratch_.cluster_rows;
  auto& cluster_targets = scratch_.cluster_targets;
  head_index.resize(target.size());
  cluster_rows.resize(static_cast<std::size_t>(n_clusters()));
  cluster_targets.resize(cluster_rows.size());
  for (auto& rows : cluster_rows) rows.clear();
  for (auto& targets : cluster_targets) targets.clear();
  for (std::size_t r = 0; r < target.size(); ++r) {
    const std::int32_t t = target[r];
    if (t < 0 || t >= n_classes_)
      throw ValueError(
          fmt::format("AdaptiveLogSoftmaxWithLoss: target[{}] = {} is out of range; target values "
                      "should be in [0, {}]",
                      r, t, n_classes_ - 1));
    if (t < shortlist) {
      head_index[r] = t;
      continue;
    }
    // The cluster c with cutoffs[c] <= t < cutoffs[c + 1].
    const auto c = static_cast<std::size_t>(std::upper_bound(cutoffs_.begin(), cutoffs_.end(), t) -
                                            cutoffs_.begin() - 1);
    head_index[r] = static_cast<std::int32_t>(shortlist + static_cast<std::int64_t>(c));
    cluster_rows[c].push_back(static_cast<std::int64_t>(r));
    cluster_targets[c].push_back(static_cast<std::int32_t>(t - cutoffs_[c]));
  }

  Tensor output = gather_columns(log_softmax(head_->forward(input), 1), head_index);
  for (std::size_t c = 0; c < cluster_rows.size(); ++c) {
    if (cluster_rows[c].empty()) continue;  // an unused tail stays off the tape
    const Tensor rows_in = index_select_rows(input, cluster_rows[c]);
    const Tensor tail_logprob = log_softmax(tails_[c]->forward(rows_in), 1);
    output = index_add_rows(output, cluster_rows[c], gather_columns(tail_logprob, cluster_targets[c]));
  }
  return {output, mean(neg(output))};
}

Tensor AdaptiveLogSoftmaxWithLoss::full_log_prob(const Tensor& input, const Tensor& head_logprob) {
  // [shortlist | cluster 0's classes | cluster 1's | ...], each cluster's tail log-softmax shifted by its
  // head entry. narrow and a reused parts list keep this allocation-free.
  const std::int64_t shortlist = shortlist_size(), clusters = n_clusters();
  std::vector<Tensor>& pieces = scratch_.pieces;
  pieces.clear();
  pieces.push_back(narrow(head_logprob, 1, 0, shortlist));
  for (std::int64_t c = 0; c < clusters; ++c) {
    const Tensor cluster_logprob = narrow(head_logprob, 1, shortlist + c, 1);  // [N, 1]
    pieces.push_back(
        add(log_softmax(tails_[static_cast<std::size_t>(c)]->forward(input), 1), cluster_logprob));
  }
  Tensor full = concat(pieces, 1);
  pieces.clear();  // no tensor is kept alive between calls
  return full;
}

Tensor AdaptiveLogSoftmaxWithLoss::log_prob(const Tensor& input) {
  if (input.ndim() != 2 || input.size(1) != in_features_)
    throw ShapeError(fmt::format("AdaptiveLogSoftmaxWithLoss.log_prob: input {} should be [N, {}]",
                                 input.shape().str(), in_features_));
  return full_log_prob(input, log_softmax(head_->forward(input), 1));
}

std::vector<std::int32_t> AdaptiveLogSoftmaxWithLoss::predict(const Tensor& input) {
  if (input.ndim() != 2 || input.size(1) != in_features_)
    throw ShapeError(fmt::format("AdaptiveLogSoftmaxWithLoss.predict: input {} should be [N, {}]",
                                 input.shape().str(), in_features_));
  NoGradGuard no_grad;
  const std::int64_t batch = input.size(0), shortlist = shortlist_size(), width = head_size();
  // The argmax is taken over the head's log-probabilities (not its logits) so that it is the same
  // float comparison log_prob's argmax makes. A shortlist winner is final: every class of cluster c
  // has log-probability head[c] + (a log-softmax value <= 0) <= head[c].
  const Tensor head_logprob = log_softmax(head_->forward(input), 1);
  std::vector<std::int32_t> prediction(static_cast<std::size_t>(batch));
  std::vector<std::int64_t> undecided;
  for (std::int64_t r = 0; r < batch; ++r) {
    prediction[static_cast<std::size_t>(r)] = argmax_row(head_logprob.data() + r * width, width);
    if (prediction[static_cast<std::size_t>(r)] >= shortlist) undecided.push_back(r);
  }
  if (undecided.empty()) return prediction;
  const bool all = static_cast<std::int64_t>(undecided.size()) == batch;
  const Tensor full =
      all ? full_log_prob(input, head_logprob)
          : full_log_prob(index_select_rows(input, undecided), index_select_rows(head_logprob, undecided));
  for (std::size_t k = 0; k < undecided.size(); ++k)
    prediction[static_cast<std::size_t>(undecided[k])] =
        argmax_row(full.data() + static_cast<std::int64_t>(k) * n_classes_, n_classes_);
  return prediction;
}

std::string AdaptiveLogSoftmaxWithLoss::describe() const {
  std::string tails = "ModuleList(\n";
  for (std::size_t i = 0; i < tails_.size(); ++i)
    tails += fmt::format("  ({}): {}\n", i, indented(tails_[i]->describe()));
  tails += ")";
  return fmt::format("AdaptiveLogSoftmaxWithLoss(\n  (head): {}\n  (tail): {}\n)", head_->describe(),
                     indented(tails));
}

}  // namespace bend::nn
