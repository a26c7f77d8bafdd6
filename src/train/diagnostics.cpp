// Per-layer diagnostics of a Sequential MLP on a probe batch (see bend/train/diagnostics.hpp).
#include "bend/train/diagnostics.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "bend/activations.hpp"
#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/nn/linear.hpp"
#include "bend/nn/transformer_encoder_layer.hpp"
#include "bend/ops.hpp"

namespace bend::train {
namespace {

struct MeanStd {
  double mean = 0, std = 0;
};

MeanStd mean_std(std::span<const float> v) {
  if (v.empty()) return {};
  double sum = 0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (float x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size()))};
}

double l2_norm(const Tensor& t) {
  if (!t.defined()) return 0.0;
  double sq = 0;
  for (float x : t.span()) sq += static_cast<double>(x) * x;
  return std::sqrt(sq);
}

// Dead units and saturation from the derivative values d [samples, units] (row-major).
void derivative_stats(std::span<const float> d, std::int64_t samples, std::int64_t units,
                      double max_derivative, double threshold, LayerDiagnostics& out) {
  std::vector<char> alive(static_cast<std::size_t>(units), 0);
  std::int64_t saturated = 0;
  const double limit = threshold * max_derivative;
  for (std::int64_t s = 0; s < samples; ++s) {
    const float* row = d.data() + s * units;
    for (std::int64_t u = 0; u < units; ++u) {
      const float g = row[u];
      if (g != 0.0f) alive[static_cast<std::size_t>(u)] = 1;
      if (std::fabs(g) < limit) ++saturated;
    }
  }
  out.dead_units = units - std::count(alive.begin(), alive.end(), char{1});
  out.dead_fraction = units ? static_cast<double>(out.dead_units) / static_cast<double>(units) : 0.0;
  const std::int64_t total = samples * units;
  out.saturated_fraction = total ? static_cast<double>(saturated) / static_cast<double>(total) : 0.0;
}

// Restores a module's training mode when the scope ends (also on exceptions).
class ModeRestorer {
 public:
  explicit ModeRestorer(nn::Module& m) : module_(m), was_training_(m.is_training()) {}
  ~ModeRestorer() { module_.train(was_training_); }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  nn::Module& module_;
  bool was_training_;
};

}  // namespace

std::vector<const LayerDiagnostics*> Diagnostics::hidden() const {
  std::vector<const LayerDiagnostics*> out;
  for (const auto& l : layers)
    if (l.has_activation()) out.push_back(&l);
  return out;
}

namespace {
// Every Linear in the module tree, in registration order (the order of state_dict).
void collect_linears(nn::Module& m, std::vector<nn::Linear*>& out) {
  if (auto* linear = dynamic_cast<nn::Linear*>(&m)) out.push_back(linear);
  for (const auto& [name, child] : m.children()) collect_linears(*child, out);
}
}  // namespace

Diagnostics diagnose(nn::Module& any_model, const Tensor& images, std::span<const std::int32_t> labels,
                     const DiagnosticsOptions& options) {
  if (images.ndim() != 2 || images.size(0) != static_cast<std::int64_t>(labels.size()))
    throw ShapeError(
        fmt::format("diagnose: images {} do not match {} labels", images.shape().str(), labels.size()));
  const std::int64_t samples = images.size(0);
  nn::Module& model = any_model;
  ModeRestorer restore(model);
  model.eval();

  Diagnostics result;
  result.probe_samples = samples;
  std::vector<nn::Linear*> linears;

  auto* sequential = dynamic_cast<nn::Sequential*>(&any_model);
  if (!sequential) {
    // A model with its own forward: its activations are not modules we can step through, so only the
    // weight gradients of its Linear layers are measured.
    collect_linears(any_model, linears);
    for (nn::Linear* linear : linears) {
      LayerDiagnostics layer;
      layer.module_index = result.layers.size();
      layer.units = linear->out_features();
      result.layers.push_back(layer);
    }
  } else {
    // Pass 1, no recording: pre-activations and activations layer by layer.
    nn::Sequential& model = *sequential;
    NoGradGuard no_grad;
    Tensor x = model.view_input(images);  // a conv net takes its images as [N, C, H, W]
    for (std::size_t i = 0; i < model.size(); ++i) {
      nn::Module& m = model[i];
      if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
        linears.push_back(linear);
        x = linear->forward(x);
        LayerDiagnostics layer;
        layer.module_index = i;
        layer.units = linear->out_features();
        const MeanStd pre = mean_std(x.span());
        layer.pre_mean = layer.act_mean = pre.mean;
        layer.pre_std = layer.act_std = pre.std;
        result.layers.push_back(layer);
        continue;
      }
      const bool follows_linear = !result.layers.empty() && !result.layers.back().has_activation() &&
                                  result.layers.back().module_index + 1 == i;
      if (auto* act = dynamic_cast<nn::Activation*>(&m); act && follows_linear) {
        const ActivationInfo& info = act->info();
        Tensor y = act->forward(x);
        std::vector<float> d(static_cast<std::size_t>(x.numel()));
        info.kernel.derivative(x.data(), y.data(), d.data(), x.numel(), act->params());
        LayerDiagnostics& layer = result.layers.back();
        layer.activation = std::string(info.name);
        derivative_stats(d, samples, layer.units, info.max_derivative, options.saturation_threshold, layer);
        const MeanStd post = mean_std(y.span());
        layer.act_mean = post.mean;
        layer.act_std = post.std;
        x = y;
        continue;
      }
      if (auto* prelu = dynamic_cast<nn::PReLU*>(&m); prelu && follows_linear) {
        // f'(x) = 1 for x > 0, else the (per-feature or shared) slope.
        LayerDiagnostics& layer = result.layers.back();
        const auto slopes = prelu->weight.span();
        std::vector<float> d(static_cast<std::size_t>(x.numel()));
        double max_derivative = 1.0;
        for (float a : slopes) max_derivative = std::max(max_derivative, static_cast<double>(std::fabs(a)));
        const float* xs = x.data();
        for (std::int64_t s = 0; s < samples; ++s)
          for (std::int64_t u = 0; u < layer.units; ++u) {
            const std::size_t k = static_cast<std::size_t>(s * layer.units + u);
            const float a = slopes.size() == 1 ? slopes[0] : slopes[static_cast<std::size_t>(u)];
            d[k] = xs[k] > 0.0f ? 1.0f : a;
          }
        layer.activation = "prelu";
        derivative_stats(d, samples, layer.units, max_derivative, options.saturation_threshold, layer);
        Tensor y = prelu->forward(x);
        const MeanStd post = mean_std(y.span());
        layer.act_mean = post.mean;
        layer.act_std = post.std;
        x = y;
        continue;
      }
      // Transformer blocks (one, or a Sequential of them): each block's linear1 and its feed-forward
      // activation, seen through the block's probe.
      std::vector<nn::TransformerEncoderLayer*> blocks;
      if (auto* block = dynamic_cast<nn::TransformerEncoderLayer*>(&m)) blocks.push_back(block);
      if (auto* inner = dynamic_cast<nn::Sequential*>(&m))
        for (const auto& [name, child] : inner->children())
          if (auto* block = dynamic_cast<nn::TransformerEncoderLayer*>(child.get())) blocks.push_back(block);
      for (nn::TransformerEncoderLayer* block : blocks)
        block->feed_forward_probe = [&, block, i](const Tensor& pre, const Tensor& post) {
          linears.push_back(block->linear1.get());
          LayerDiagnostics layer;
          layer.module_index = i;
          layer.units = pre.size(-1);
          const MeanStd pre_stats = mean_std(pre.span());
          const MeanStd post_stats = mean_std(post.span());
          layer.pre_mean = pre_stats.mean;
          layer.pre_std = pre_stats.std;
          layer.act_mean = post_stats.mean;
          layer.act_std = post_stats.std;
          // Every token of every sample counts as one sample of the unit.
          const std::int64_t rows = pre.numel() / layer.units;
          if (auto* act = dynamic_cast<nn::Activation*>(block->activation.get())) {
            const ActivationInfo& info = act->info();
            std::vector<float> d(static_cast<std::size_t>(pre.numel()));
            info.kernel.derivative(pre.data(), post.data(), d.data(), pre.numel(), act->params());
            derivative_stats(d, rows, layer.units, info.max_derivative, options.saturation_threshold, layer);
          }
          layer.activation = block->gated() ? "swiglu" : block->config().activation;
          result.layers.push_back(layer);
        };
      const auto remove_probes = [&] {
        for (nn::TransformerEncoderLayer* block : blocks) block->feed_forward_probe = nullptr;
      };
      try {
        x = m.forward(x);  // dropout (identity in eval mode) or anything else: pass through
      } catch (...) {
        remove_probes();
        throw;
      }
      remove_probes();
    }
  }

  // Pass 2, recorded: the loss's gradient with respect to every weight.
  model.zero_grad();
  {
    Tensor logits = model.forward(images);
    Tensor loss = cross_entropy(logits, labels);
    result.probe_loss = loss.item();
    loss.backward();
  }
  for (std::size_t k = 0; k < linears.size(); ++k)
    result.layers[k].weight_grad_norm = l2_norm(linears[k]->weight.grad());
  model.zero_grad();

  if (!result.layers.empty()) {
    const double last = result.layers.back().weight_grad_norm;
    result.grad_norm_ratio =
        last > 0 ? result.layers.front().weight_grad_norm / last : std::numeric_limits<double>::quiet_NaN();
  }
  return result;
}

Diagnostics diagnose_gpt(nn::GPT& model, const Tensor& idx, std::span<const std::int32_t> targets,
                         const DiagnosticsOptions& options) {
  if (idx.ndim() != 2 || idx.numel() != static_cast<std::int64_t>(targets.size()))
    throw ShapeError(
        fmt::format("diagnose_gpt: windows {} do not match {} targets", idx.shape().str(), targets.size()));
  ModeRestorer restore(model);
  model.eval();
  const nn::GPTConfig& config = model.config();
  const bool gated = config.activation == "swiglu";
  const ActivationInfo& info = activation(gated ? "silu" : config.activation);
  Diagnostics result;
  result.probe_samples = idx.size(0);
  result.layers.resize(static_cast<std::size_t>(config.n_layer));
  model.set_mlp_probe([&](std::int64_t block, const Tensor& pre, const Tensor& post) {
    LayerDiagnostics& layer = result.layers.at(static_cast<std::size_t>(block));
    layer.module_index = static_cast<std::size_t>(block);
    layer.units = pre.size(-1);
    layer.activation = config.activation;
    const Tensor& a = pre;  // bend's tensors are contiguous
    const Tensor& b = post;
    const MeanStd pre_stats = mean_std(a.span()), post_stats = mean_std(b.span());
    layer.pre_mean = pre_stats.mean;
    layer.pre_std = pre_stats.std;
    layer.act_mean = post_stats.mean;
    layer.act_std = post_stats.std;
    std::vector<float> d(static_cast<std::size_t>(a.numel()));
    info.kernel.derivative(a.data(), b.data(), d.data(), a.numel(), info.defaults);
    derivative_stats(d, a.numel() / layer.units, layer.units, info.max_derivative,
                     options.saturation_threshold, layer);
  });
  model.zero_grad();
  try {
    const Tensor logits = model.forward(idx);
    model.set_mlp_probe({});
    const Tensor loss = cross_entropy(reshape(logits, {-1, logits.size(-1)}), targets);
    result.probe_loss = loss.item();
    loss.backward();
  } catch (...) {
    model.set_mlp_probe({});
    model.zero_grad();
    throw;
  }
  // The gradients by state_dict name: each block's mlp.c_fc, then the tied head (transformer.wte).
  const nn::NamedTensors parameters = model.named_parameters();
  const auto grad_norm = [&](const std::string& name) {
    for (const auto& [key, tensor] : parameters)
      if (key == name) return l2_norm(tensor.grad());
    throw ValueError(fmt::format("diagnose_gpt: the GPT has no parameter {}", name));
  };
  for (std::int64_t i = 0; i < config.n_layer; ++i)
    result.layers[static_cast<std::size_t>(i)].weight_grad_norm =
        grad_norm(fmt::format("transformer.h.{}.mlp.c_fc.weight", i));
  LayerDiagnostics head;
  head.module_index = static_cast<std::size_t>(config.n_layer);
  head.units = config.vocab_size;
  head.weight_grad_norm = grad_norm("transformer.wte.weight");
  result.layers.push_back(head);
  model.zero_grad();
  const double last = result.layers.back().weight_grad_norm;
  result.grad_norm_ratio =
      last > 0 ? result.layers.front().weight_grad_norm / last : std::numeric_limits<double>::quiet_NaN();
  return result;
}

TensorDataset probe_batch(const TensorDataset& data, std::int64_t probe_size) {
  return subset(data, 0, std::clamp<std::int64_t>(probe_size, 0, data.size()));
}

Diagnostics diagnose(nn::Module& model, const TensorDataset& data, std::int64_t probe_size,
                     const DiagnosticsOptions& options) {
  const TensorDataset probe = probe_batch(data, probe_size);
  return diagnose(model, probe.images, probe.labels, options);
}

std::string format_diagnostics(const Diagnostics& d) {
  std::string out = fmt::format("  {:<6} {:<11} {:>6} {:>11} {:>13} {:>10} {:>19}\n", "layer", "activation",
                                "units", "grad norm", "dead", "saturated", "pre-act mean/std");
  for (std::size_t k = 0; k < d.layers.size(); ++k) {
    const LayerDiagnostics& l = d.layers[k];
    const bool act = l.has_activation();
    out +=
        fmt::format("  {:<6} {:<11} {:>6} {:>11.3e} {:>13} {:>10} {:>19}\n", k + 1, act ? l.activation : "-",
                    l.units, l.weight_grad_norm,
                    act ? fmt::format("{} ({:.1f}%)", l.dead_units, 100 * l.dead_fraction) : std::string("-"),
                    act ? fmt::format("{:.1f}%", 100 * l.saturated_fraction) : std::string("-"),
                    fmt::format("{:.3f}/{:.3f}", l.pre_mean, l.pre_std));
  }
  out += fmt::format("  grad norm ratio first/last {:.3e}; probe loss {:.4f} on {} samples\n",
                     d.grad_norm_ratio, d.probe_loss, d.probe_samples);
  return out;
}

DiagnosticsObserver::DiagnosticsObserver(TrainObserver* next, std::int64_t probe_size, Callback callback)
    : next_(next), probe_size_(probe_size), callback_(std::move(callback)) {
  if (probe_size < 1)
    throw ValueError(fmt::format("diagnostics: the probe batch needs >= 1 sample, got {}", probe_size));
}

void DiagnosticsObserver::on_start(Trainer& trainer) {
  if (next_) next_->on_start(trainer);
  trainer_ = &trainer;
  probe_ = probe_batch(trainer.test_data(), probe_size_);
  initial_ = diagnose(trainer_->model(), probe_.images, probe_.labels);
  if (callback_) callback_(trainer.epochs_done(), initial_);
}

void DiagnosticsObserver::on_step(const StepProgress& p) {
  if (next_) next_->on_step(p);
}

void DiagnosticsObserver::on_epoch(const EpochMetrics& m) {
  if (next_) next_->on_epoch(m);
  per_epoch_.push_back(diagnose(trainer_->model(), probe_.images, probe_.labels));
  if (callback_) callback_(m.epoch, per_epoch_.back());
}

void DiagnosticsObserver::on_phase(StepPhase phase) {
  if (next_) next_->on_phase(phase);
}

void DiagnosticsObserver::on_checkpoint(const std::filesystem::path& path) {
  if (next_) next_->on_checkpoint(path);
}

}  // namespace bend::train
