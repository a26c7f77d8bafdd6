// Optimizer updates on tiny values (denormals, and values whose products are denormal) give IEEE float
// results bit for bit: the same bits as PyTorch's update written op for op in float, each operation
// rounded once. bend computes blocks that hold such values in double rounded to float, to avoid the
// denormal assists of Intel cores (src/optim/tiny_values.hpp); this checks that the double arithmetic
// is exact, on blocks that switch between the two arithmetics from step to step.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bend/bend.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/rmsprop.hpp"
#include "bend/optim/sgd.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::optim;  // the optimizers and schedulers, as torch::optim

namespace {

// A float whose every operation rounds once to float: the result goes through a volatile float, so the
// compiler can neither contract a multiply and an add into one FMA nor keep extra precision.
struct F {
  float v;
  F(float x = 0.0f) : v(x) {}  // NOLINT: implicit, so coefficients read naturally
  static F of(float x) {
    volatile float stored = x;
    return F{stored};
  }
  friend F operator+(F a, F b) { return of(a.v + b.v); }
  friend F operator*(F a, F b) { return of(a.v * b.v); }
  friend F operator/(F a, F b) { return of(a.v / b.v); }
};
F sqrt(F a) { return F::of(std::sqrt(a.v)); }
F max(F a, F b) { return a.v < b.v ? b : a; }  // torch.maximum for non-NaN values

constexpr int kBlocks = 7;
constexpr std::int64_t kElements = 64 * kBlocks - 5;  // a partial last block
constexpr int kSteps = 14;

// What the elements of a block look like. Blocks 0 and 4 stay ordinary (the float path); the others mix
// in the kinds of tiny values an update meets.
enum class Kind { kOrdinary, kStuckMoment, kTinyGradient, kVanishingGradient, kOnOff, kTinyParam };

Kind kind_of(std::int64_t i, std::int64_t step) {
  const std::int64_t block = i / 64;
  if (block == 0 || block == 4) return Kind::kOrdinary;
  if (block == 6 && step < 7) return Kind::kOrdinary;  // becomes tiny halfway: a block switches arithmetic
  switch (i % 6) {
    case 0:
      return Kind::kStuckMoment;
    case 1:
      return Kind::kTinyGradient;
    case 2:
      return Kind::kVanishingGradient;
    case 3:
      return Kind::kOnOff;
    case 4:
      return Kind::kTinyParam;
    default:
      return Kind::kOrdinary;
  }
}

float gradient(std::int64_t i, int step, Rng& rng) {
  const float u = rng.uniform(-1.0f, 1.0f);
  switch (kind_of(i, step)) {
    case Kind::kOrdinary:
      return u;
    case Kind::kStuckMoment:
      return step == 0 ? u * 1e-38f : 0.0f;  // a denormal moment that decays to 1 ulp
    case Kind::kTinyGradient:
      return u * 1e-41f;  // a denormal gradient
    case Kind::kVanishingGradient:
      return u * 1e-21f;  // its square is below float's range
    case Kind::kOnOff:
      return step % 3 == 0 ? u : 0.0f;
    case Kind::kTinyParam:
      return (i / 6) % 2 == 0 ? 0.0f : u * 1e-30f;  // the parameter stays tiny
  }
  return u;
}

std::vector<float> initial_params(Rng& rng) {
  std::vector<float> p(kElements);
  for (std::int64_t i = 0; i < kElements; ++i)
    p[i] = kind_of(i, 0) == Kind::kTinyParam ? rng.uniform(-1.0f, 1.0f) * 1e-39f : rng.uniform(-1.0f, 1.0f);
  return p;
}

std::vector<std::vector<float>> gradients(Rng& rng) {
  std::vector<std::vector<float>> grads(kSteps, std::vector<float>(kElements));
  for (int s = 0; s < kSteps; ++s)
    for (std::int64_t i = 0; i < kElements; ++i) grads[s][i] = gradient(i, s, rng);
  return grads;
}

struct Result {
  std::vector<float> param;
  std::vector<std::vector<float>> states;  // in state_tensors() order
};

Result run_bend(Optimizer& opt, Tensor& w, const std::vector<std::vector<float>>& grads) {
  w.set_grad(Tensor::zeros({kElements}));
  for (const auto& g : grads) {
    std::copy(g.begin(), g.end(), w.grad().data());
    opt.step();
  }
  Result r{w.to_vector(), {}};
  for (const auto& [name, tensor] : opt.state_tensors())
    if (tensor.numel() == kElements) r.states.push_back(tensor.to_vector());
  return r;
}

// PyTorch 1.13's _single_tensor_adam, op for op, with its scalars rounded to float as its kernels get
// them.
Result adam_reference(const AdamOptions& o, bool decoupled, std::vector<float> param,
                      const std::vector<std::vector<float>>& grads) {
  std::vector<F> p(param.begin(), param.end()), m(p.size()), v(p.size()), v_max(p.size());
  const auto [b1, b2] = o.betas;
  for (std::size_t s = 0; s < grads.size(); ++s) {
    const double t = static_cast<double>(s + 1);
    const F step_size = static_cast<float>(-(o.lr / (1.0 - std::pow(b1, t))));
    const F bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(b2, t)));
    for (std::size_t i = 0; i < p.size(); ++i) {
      F g = grads[s][i];
      if (decoupled && o.weight_decay != 0.0) p[i] = p[i] * static_cast<float>(1.0 - o.lr * o.weight_decay);
      if (!decoupled && o.weight_decay != 0.0) g = g + F(static_cast<float>(o.weight_decay)) * p[i];
      m[i] = m[i] * static_cast<float>(b1) + F(static_cast<float>(1.0 - b1)) * g;
      v[i] = v[i] * static_cast<float>(b2) + F(static_cast<float>(1.0 - b2)) * g * g;
      F used = v[i];
      if (o.amsgrad) used = v_max[i] = max(v_max[i], v[i]);
      const F denom = sqrt(used) / bias_correction2_sqrt + F(static_cast<float>(o.eps));
      p[i] = p[i] + step_size * m[i] / denom;
    }
  }
  Result r;
  for (F x : p) r.param.push_back(x.v);
  const auto floats = [](const std::vector<F>& xs) {
    std::vector<float> out;
    for (F x : xs) out.push_back(x.v);
    return out;
  };
  r.states = {floats(m), floats(v)};
  if (o.amsgrad) r.states.push_back(floats(v_max));
  return r;
}

// PyTorch 1.13's _single_tensor_sgd.
Result sgd_reference(const SgdOptions& o, std::vector<float> param,
                     const std::vector<std::vector<float>>& grads) {
  std::vector<F> p(param.begin(), param.end()), buf(p.size());
  for (std::size_t s = 0; s < grads.size(); ++s) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      F d = grads[s][i];
      if (o.weight_decay != 0.0) d = d + F(static_cast<float>(o.weight_decay)) * p[i];
      if (o.momentum != 0.0) {
        buf[i] = s == 0
                     ? d
                     : buf[i] * static_cast<float>(o.momentum) + F(static_cast<float>(1.0 - o.dampening)) * d;
        d = o.nesterov ? d + F(static_cast<float>(o.momentum)) * buf[i] : buf[i];
      }
      p[i] = p[i] + F(static_cast<float>(-o.lr)) * d;
    }
  }
  Result r;
  for (F x : p) r.param.push_back(x.v);
  if (o.momentum != 0.0) {
    r.states.emplace_back();
    for (F x : buf) r.states.back().push_back(x.v);
  }
  return r;
}

// PyTorch 1.13's _single_tensor_rmsprop.
Result rmsprop_reference(const RmspropOptions& o, std::vector<float> param,
                         const std::vector<std::vector<float>>& grads) {
  std::vector<F> p(param.begin(), param.end()), square_avg(p.size()), grad_avg(p.size()), buf(p.size());
  const F alpha = static_cast<float>(o.alpha), one_minus_alpha = static_cast<float>(1.0 - o.alpha);
  for (const auto& step_grads : grads) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      F g = step_grads[i];
      if (o.weight_decay != 0.0) g = g + F(static_cast<float>(o.weight_decay)) * p[i];
      square_avg[i] = square_avg[i] * alpha + one_minus_alpha * g * g;
      F avg;
      if (o.centered) {
        grad_avg[i] = grad_avg[i] * alpha + one_minus_alpha * g;
        avg = sqrt(square_avg[i] + F(-1.0f) * grad_avg[i] * grad_avg[i]);
      } else {
        avg = sqrt(square_avg[i]);
      }
      avg = avg + F(static_cast<float>(o.eps));
      if (o.momentum > 0.0) {
        buf[i] = buf[i] * static_cast<float>(o.momentum) + g / avg;
        p[i] = p[i] + F(static_cast<float>(-o.lr)) * buf[i];
      } else {
        p[i] = p[i] + F(static_cast<float>(-o.lr)) * g / avg;
      }
    }
  }
  Result r;
  for (F x : p) r.param.push_back(x.v);
  const auto add = [&](const std::vector<F>& xs) {
    r.states.emplace_back();
    for (F x : xs) r.states.back().push_back(x.v);
  };
  add(square_avg);  // state_tensors() order: square_avg, momentum_buffer, grad_avg
  if (o.momentum > 0.0) add(buf);
  if (o.centered) add(grad_avg);
  return r;
}

std::size_t count_tiny(const std::vector<float>& xs) {
  std::size_t n = 0;
  for (float x : xs) n += x != 0.0f && std::abs(x) < std::numeric_limits<float>::min();
  return n;
}

void check_bits(const Result& actual, const Result& expected) {
  const auto same = [](const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      INFO(what << " element " << i << " (block " << i / 64 << "): got " << a[i] << ", expected " << b[i]);
      REQUIRE(std::memcmp(&a[i], &b[i], sizeof(float)) == 0);
    }
  };
  same(actual.param, expected.param, "param");
  REQUIRE(actual.states.size() == expected.states.size());
  for (std::size_t s = 0; s < actual.states.size(); ++s)
    same(actual.states[s], expected.states[s], "state " + std::to_string(s));
}

// Which arithmetic each block's next update takes: blocks 0 and 4 hold only ordinary values (float);
// the others hold tiny ones (double, in one chain or all).
template <class Opt>
void check_block_arithmetic(const Optimizer& opt) {
  const auto* typed = dynamic_cast<const Opt*>(&opt);
  REQUIRE(typed != nullptr);
  const std::vector<std::uint8_t>& arithmetic = typed->state(0).block_arithmetic;
  REQUIRE(arithmetic.size() == static_cast<std::size_t>(kBlocks));
  for (int b = 0; b < kBlocks; ++b) {
    INFO("block " << b);
    CHECK((arithmetic[b] == 0) == (b == 0 || b == 4));
  }
}

using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;
using Reference = std::function<Result(std::vector<float>, const std::vector<std::vector<float>>&)>;

template <class Opt>
void check_optimizer(const std::string& name, const Make& make, const Reference& reference) {
  DYNAMIC_SECTION(name) {
    Rng rng(17);
    const std::vector<float> initial = initial_params(rng);
    const std::vector<std::vector<float>> grads = gradients(rng);
    Tensor w = Tensor::from(initial, {kElements}).requires_grad_();
    auto opt = make({w});
    const Result actual = run_bend(*opt, w, grads);
    const Result expected = reference(initial, grads);
    // The inputs did reach the denormal range (else this test checks nothing it set out to).
    std::size_t tiny_states = 0;
    for (const auto& state : expected.states) tiny_states += count_tiny(state);
    CHECK(count_tiny(expected.param) + tiny_states > 10);
    check_bits(actual, expected);
    check_block_arithmetic<Opt>(*opt);
  }
}

}  // namespace

TEST_CASE("optimizer updates on tiny values are IEEE float, bit for bit", "[optim][denormal]") {
  // Weight decay is tiny for L2 (a larger one would turn every tiny gradient into an ordinary one).
  for (const bool amsgrad : {false, true}) {
    for (const double weight_decay : {0.0, 1e-30}) {
      const AdamOptions o{1e-3, {0.9, 0.999}, 1e-8, weight_decay, amsgrad};
      check_optimizer<Adam>(
          fmt::format("Adam wd={} amsgrad={}", weight_decay, amsgrad),
          [o](std::vector<Tensor> ps) { return std::make_unique<Adam>(std::move(ps), o); },
          [o](std::vector<float> p, const auto& g) { return adam_reference(o, false, std::move(p), g); });
    }
    for (const double weight_decay : {0.0, 0.01}) {
      const AdamOptions o{1e-3, {0.9, 0.999}, 1e-8, weight_decay, amsgrad};
      check_optimizer<AdamW>(
          fmt::format("AdamW wd={} amsgrad={}", weight_decay, amsgrad),
          [o](std::vector<Tensor> ps) { return std::make_unique<AdamW>(std::move(ps), o); },
          [o](std::vector<float> p, const auto& g) { return adam_reference(o, true, std::move(p), g); });
    }
  }
  for (const SgdOptions& o :
       {SgdOptions{0.01, 0.0, 0.0, false, 0.0}, SgdOptions{0.01, 0.9, 0.0, false, 0.0},
        SgdOptions{0.01, 0.9, 0.0, true, 1e-30}, SgdOptions{0.01, 0.9, 0.5, false, 1e-30}})
    check_optimizer<SGD>(
        fmt::format("SGD momentum={} nesterov={} dampening={} wd={}", o.momentum, o.nesterov, o.dampening,
                    o.weight_decay),
        [o](std::vector<Tensor> ps) { return std::make_unique<SGD>(std::move(ps), o); },
        [o](std::vector<float> p, const auto& g) { return sgd_reference(o, std::move(p), g); });
  for (const RmspropOptions& o :
       {RmspropOptions{0.01, 0.99, 1e-8, 0.0, 0.0, false},
        RmspropOptions{0.01, 0.99, 1e-8, 1e-30, 0.9, false},
        RmspropOptions{0.01, 0.99, 1e-8, 1e-30, 0.0, true}, RmspropOptions{0.01, 0.99, 1e-8, 0.0, 0.9, true}})
    check_optimizer<RMSprop>(
        fmt::format("RMSprop centered={} momentum={} wd={}", o.centered, o.momentum, o.weight_decay),
        [o](std::vector<Tensor> ps) { return std::make_unique<RMSprop>(std::move(ps), o); },
        [o](std::vector<float> p, const auto& g) { return rmsprop_reference(o, std::move(p), g); });
}

}  // namespace BEND_UNITY_ID
