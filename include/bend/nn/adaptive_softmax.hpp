#pragma once
// AdaptiveLogSoftmaxWithLoss: the efficient softmax approximation of Grave et al. (2017), with the
// semantics, parameter names and initialisation of torch.nn.AdaptiveLogSoftmaxWithLoss.
//
// Classes [0, cutoffs[0]) form the "shortlist" and are scored directly by the head; the remaining
// classes are split into clusters [cutoffs[i], cutoffs[i+1]) (the last ending at n_classes). The head
// scores the shortlist plus one logit per cluster; cluster i has its own tail, a low-rank projection
// in_features -> in_features // div_value^(i+1) -> cluster size. A class in cluster i gets
//     log p(class) = log p_head(cluster i) + log p_tail_i(class - cutoffs[i]).
// Frequent classes should therefore get the small indices.
//
// The module is built from the indexing ops of bend/ops.hpp (index_select_rows, gather_columns,
// index_add_rows).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bend/nn/linear.hpp"
#include "bend/nn/module.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/ops.hpp"
#include "bend/rng.hpp"
#include "bend/tensor.hpp"

namespace bend::nn {

// Returned by AdaptiveLogSoftmaxWithLoss::forward, as PyTorch's _ASMoutput.
struct ASMOutput {
  Tensor output;  // [N]: log p(target[n] | input[n])
  Tensor loss;    // scalar: mean(-output)
};

class AdaptiveLogSoftmaxWithLoss : public Module {
 public:
  // cutoffs: strictly increasing, each in [1, n_classes - 1] (ValueError otherwise, as PyTorch).
  // Layers are created (and initialised with nn.Linear's default init) in PyTorch's order: head, then
  // tail.0.0, tail.0.1, tail.1.0, ... A tail whose hidden size in_features // div_value^(i+1) rounds to
  // 0 gets zero-element weights, exactly as in PyTorch: it then outputs zeros, so its cluster's
  // distribution is uniform.
  AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                             std::vector<std::int64_t> cutoffs, double div_value = 4.0,
                             bool head_bias = false);
  AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                             std::vector<std::int64_t> cutoffs, double div_value, bool head_bias, Rng& rng);

  // input [N, in_features], target: N class indices in [0, n_classes). Only the tails of clusters that
  // some target falls in are evaluated, so only their weights receive gradients.
  // ShapeError for a wrong input shape or target count; ValueError naming the first bad target.
  ASMOutput forward(const Tensor& input, std::span<const std::int32_t> target);
  ASMOutput operator()(const Tensor& input, std::span<const std::int32_t> target) {
    return forward(input, target);
  }

  // The single-argument Module interface has no targets; it returns log_prob(input).
  Tensor forward(const Tensor& input) override { return log_prob(input); }
  using Module::operator();

  // [N, n_classes] log-probabilities of every class (each row's logsumexp is 0); differentiable.
  Tensor log_prob(const Tensor& input);
  // The most likely class of each row: argmax of log_prob(input), first index on ties. Like PyTorch it
  // skips the tails for rows whose best head entry is a shortlist class (no tail class can beat it),
  // and evaluates them only for the other rows. Not recorded on the tape.
  std::vector<std::int32_t> predict(const Tensor& input);

  std::string type_name() const override { return "AdaptiveLogSoftmaxWithLoss"; }
  std::string describe() const override;  // PyTorch-style multi-line repr

  std::int64_t in_features() const { return in_features_; }
  std::int64_t n_classes() const { return n_classes_; }
  // The cutoffs as given, followed by n_classes (PyTorch's self.cutoffs).
  const std::vector<std::int64_t>& cutoffs() const { return cutoffs_; }
  double div_value() const { return div_value_; }
  bool head_bias() const { return head_->bias.defined(); }
  std::int64_t shortlist_size() const { return cutoffs_.front(); }
  std::int64_t n_clusters() const { return static_cast<std::int64_t>(cutoffs_.size()) - 1; }
  std::int64_t head_size() const { return shortlist_size() + n_clusters(); }

  Linear& head() const { return *head_; }
  // Cluster i's projection: Sequential(Linear(in, hsz, bias=False), Linear(hsz, osz, bias=False)).
  Sequential& tail(std::int64_t i) const { return *tails_.at(static_cast<std::size_t>(i)); }

 private:
  // The full [N, n_classes] log-probabilities from the head's log-softmax [N, head_size].
  Tensor full_log_prob(const Tensor& input, const Tensor& head_logprob);

  std::int64_t in_features_, n_classes_;
  std::vector<std::int64_t> cutoffs_;
  double div_value_;
  std::shared_ptr<Linear> head_;
  std::vector<std::shared_ptr<Sequential>> tails_;
  // Per-call index lists and parts, kept for their capacity (no allocation in a steady step).
  struct Scratch {
    std::vector<std::int32_t> head_index;
    std::vector<std::vector<std::int64_t>> cluster_rows;
    std::vector<std::vector<std::int32_t>> cluster_targets;
    std::vector<Tensor> pieces;
  } scratch_;
};

}  // namespace bend::nn
