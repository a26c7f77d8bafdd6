// The tape: recording, reverse replay, release.
#include "bend/autograd.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/profiler.hpp"

namespace bend {

Tape& tape() {
  thread_local Tape t;
  return t;
}

namespace {
std::shared_ptr<detail::TensorImpl> zeros_impl(const Shape& shape) {
  Tensor z = Tensor::zeros(shape);
  return z.impl_ptr();
}
}  // namespace

float* grad_for_accumulation(const Tensor& t) {
  detail::TensorImpl* impl = t.impl();
  if (!impl || !impl->requires_grad) return nullptr;
  if (!impl->grad) impl->grad = zeros_impl(impl->shape);
  return detail::materialized_grad(*impl)->data;
}

GradTarget grad_target(const Tensor& t) {
  detail::TensorImpl* impl = t.impl();
  if (!impl || !impl->requires_grad) return {};
  if (!impl->grad) {
    impl->grad = Tensor::empty(impl->shape).impl_ptr();
    return {impl->grad->data, true};
  }
  const bool is_zero = impl->grad_is_zero;
  impl->grad_is_zero = false;  // the caller writes every element now
  return {impl->grad->data, is_zero};
}

TapeEntry* Tape::record(Tensor& out, BackwardFn backward, const char* op,
                        std::initializer_list<Tensor> inputs) {
  if (!grad_enabled_) return nullptr;
  bool any = false;
  for (const Tensor& t : inputs) {
    const detail::TensorImpl* impl = t.impl();
    if (!impl || !impl->requires_grad) continue;
    if (impl->tape_index >= 0 && impl->tape_generation != generation_)
      throw AutogradError(fmt::format(
          "{}: an input of shape {} was computed before the last backward(), which released the tape "
          "that recorded it; detach() it to use its value, or compute it again",
          op, impl->shape.str()));
    any = true;
  }
  if (!any) return nullptr;
  if (size_ == entries_.size()) entries_.emplace_back();
  TapeEntry& e = entries_[size_];
  e.backward = backward;
  e.op = op;
  e.out = out;
  std::size_t k = 0;
  for (const Tensor& t : inputs) e.in[k++] = t;
  detail::TensorImpl* o = out.impl();
  o->requires_grad = true;
  o->tape_index = static_cast<std::int32_t>(size_);
  o->tape_generation = generation_;
  ++size_;
  if (profiler::active()) profiler::forward_op(op);
  return &e;
}

void Tape::run_backward(const Tensor& root, const Tensor* seed) {
  detail::TensorImpl* r = root.impl();
  if (!r) throw AutogradError("backward: called on an undefined tensor");
  if (!r->requires_grad)
    throw AutogradError(fmt::format(
        "backward: the tensor of shape {} does not require grad (no input of the ops that computed it "
        "requires grad, or it was computed under NoGradGuard)",
        r->shape.str()));
  if (r->tape_index < 0)
    throw AutogradError(fmt::format(
        "backward: the tensor of shape {} is a leaf; call backward() on a result computed from it",
        r->shape.str()));
  if (r->tape_generation != generation_)
    throw AutogradError(fmt::format(
        "backward: the tape that recorded this tensor (shape {}) was already released by an earlier "
        "backward(); run the forward pass again before calling backward() again",
        r->shape.str()));
  if (!seed && r->numel != 1)
    throw AutogradError(fmt::format(
        "backward: the tensor has shape {} ({} values); backward() without a gradient needs a single "
        "value (a loss). Pass grad_output of the same shape to backward(grad_output)",
        r->shape.str(), r->numel));
  if (seed && !(seed->shape() == r->shape))
    throw ShapeError(fmt::format("backward: grad_output has shape {} but the tensor has shape {}",
                                 seed->shape().str(), r->shape.str()));

  float* g = grad_for_accumulation(root);
  if (seed)
    for (std::int64_t k = 0; k < r->numel; ++k) g[k] += seed->data()[k];
  else
    g[0] += 1.0f;

  // Entries after the root cannot contribute to it; entries whose output received no gradient are
  // not on a path to the root.
  if (profiler::active()) {
    // The same replay with a span per backward function (bend/profiler.hpp); the pool's workers name
    // their parts after the entry. The grad-ready hook's calls are outside the spans.
    if (grad_ready_) mark_final_uses(r->tape_index);
    const GradReadyHook hook = grad_ready_;
    for (std::int64_t k = r->tape_index; k >= 0; --k) {
      TapeEntry& e = entries_[static_cast<std::size_t>(k)];
      if (e.out.impl()->grad) {
        detail::materialized_grad(*e.out.impl());
        profiler::set_label(e.op);
        const std::int64_t begin = profiler::now_ns();
        e.backward(e);
        profiler::record(e.op, profiler::Category::Backward, begin, profiler::now_ns());
      }
      if (hook)
        for (std::uint8_t bits = e.finalizes, slot = 0; bits != 0; bits >>= 1, ++slot)
          if (bits & 1u) hook.on_ready(hook.context, e.in[slot]);
    }
    profiler::set_label("backward");
    profiler::mark(profiler::now_ns());
  } else if (!grad_ready_) {
    for (std::int64_t k = r->tape_index; k >= 0; --k) {
      TapeEntry& e = entries_[static_cast<std::size_t>(k)];
      if (e.out.impl()->grad) {
        detail::materialized_grad(*e.out.impl());  // (only if someone zero_grad()ed an intermediate)
        e.backward(e);
      }
    }
  } else {
    mark_final_uses(r->tape_index);
    const GradReadyHook hook = grad_ready_;  // (a hook may install another; this backward keeps its own)
    for (std::int64_t k = r->tape_index; k >= 0; --k) {
      TapeEntry& e = entries_[static_cast<std::size_t>(k)];
      if (e.out.impl()->grad) {
        detail::materialized_grad(*e.out.impl());
        e.backward(e);
      }
      for (std::uint8_t bits = e.finalizes, slot = 0; bits != 0; bits >>= 1, ++slot)
        if (bits & 1u) hook.on_ready(hook.context, e.in[slot]);
    }
  }
  clear();
}

GradReadyHook Tape::set_grad_ready_hook(GradReadyHook hook) {
  const GradReadyHook previous = grad_ready_;
  grad_ready_ = hook;
  return previous;
}

// Replay runs from `last` down to 0, so a leaf's final use is the entry of lowest index that takes it:
// the first one met walking forward. One pass over the entries, no allocation.
void Tape::mark_final_uses(std::int64_t last) {
  for (std::int64_t k = 0; k <= last; ++k) {
    TapeEntry& e = entries_[static_cast<std::size_t>(k)];
    e.finalizes = 0;
    for (std::size_t slot = 0; slot < e.in.size(); ++slot) {
      detail::TensorImpl* leaf = e.in[slot].impl();
      if (!leaf || !leaf->requires_grad || leaf->tape_index >= 0 || leaf->final_use_generation == generation_)
        continue;
      leaf->final_use_generation = generation_;
      e.finalizes = static_cast<std::uint8_t>(e.finalizes | (1u << slot));
    }
  }
}

void Tape::clear() {
  for (std::size_t k = 0; k < size_; ++k) {
    TapeEntry& e = entries_[k];
    // Intermediate gradients are not kept (as in PyTorch without retain_grad).
    e.out.impl()->grad.reset();
    e.out = Tensor();
    for (auto& t : e.in) t = Tensor();
    for (auto& t : e.saved) t = Tensor();
    e.ctx = nullptr;
  }
  size_ = 0;
  ++generation_;
}

}  // namespace bend
